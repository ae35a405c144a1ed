// Reads under churn: while another client defines and undefines VMs as fast as the daemon lets it, `roost ls`,
// `roost info`, `roost port ls` and `roost ip` never fail because a VM went away between two of their calls
// ("Domain not found: no domain with matching uuid" was the symptom). ls lists what exists; a single-VM read of
// a VM that vanished says "no VM named" (exit 1), like one that was never there. The web API answers the same
// way: 200 with a list, or 404 for a VM that went away — never a 500. No VM boots: plain defines.
// (The deterministic version, with the removal forced between the list and the reads, is src/vm/churn.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LibvirtClient } from '../../src/index.js';
import { createScope, harness, roost, type RunResult } from '../harness/index.js';
import { http, startWeb, type HttpResult, type RunningWeb } from '../e2e/web-server.js';

const { user, uri } = harness();
const scope = createScope('churn', user, uri);
const names = Array.from({ length: 6 }, (_, i) => scope.name(`vm${i}`));
const READS = 12;

const domainXml = (name: string, port: number) => `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='user'>
      <portForward proto='tcp' address='127.0.0.1'><range start='${port}' to='80'/></portForward>
      <model type='virtio'/>
      <backend type='passt'/>
    </interface>
  </devices>
</domain>`;

let client: LibvirtClient;
let stop = false;
let cycles = 0;
let churning: Promise<void>;
let web: RunningWeb;

/** Defines and undefines the scope's VMs in a loop, several calls in flight, until told to stop. */
async function churn(): Promise<void> {
  while (!stop) {
    await Promise.all(
      names.map(async (name, i) => {
        const dom = await client.defineDomain(domainXml(name, 19_100 + i));
        await client.undefineDomain(dom).catch(() => undefined);
      }),
    );
    cycles++;
  }
}

beforeAll(async () => {
  client = await connect(uri);
  web = await startWeb(user);
  churning = churn();
});
afterAll(async () => {
  stop = true;
  await web?.stop();
  await churning?.catch(() => undefined);
  await client?.close();
  await scope.cleanup();
});

const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** A single-VM read: it worked, or the VM was not there ("no VM named", exit 1) — never a raw libvirt error. */
function expectReadOrGone(r: RunResult, name: string): void {
  expect(text(r)).not.toMatch(/matching uuid|Domain not found|LIBVIRT_/);
  if (r.code !== 0) {
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr, text(r)).toContain(`no VM named '${name}'`);
  }
}

describe('reads while VMs are defined and undefined', () => {
  it('roost ls --json always exits 0 with a list', async () => {
    for (let i = 0; i < READS; i++) {
      const r = await roost(user, ['ls', '--json']);
      expect(r.code, text(r)).toBe(0);
      expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
    }
    expect(cycles).toBeGreaterThan(0);
  });

  it('roost info, port ls and ip: the VM or "no VM named", never libvirt\'s uuid error', async () => {
    for (let i = 0; i < READS; i++) {
      const name = names[i % names.length]!;
      const [info, ports, ip] = await Promise.all([
        roost(user, ['info', name, '--json']),
        roost(user, ['port', 'ls', name, '--json']),
        roost(user, ['ip', name]),
      ]);
      expectReadOrGone(info, name);
      if (info.code === 0) expect(JSON.parse(info.stdout).name).toBe(name);
      expectReadOrGone(ports, name);
      if (ports.code === 0) expect(JSON.parse(ports.stdout).name).toBe(name);
      // A passt VM that is not running has its endpoints but no address: ip may fail for that, not for churn.
      expect(text(ip)).not.toMatch(/matching uuid|Domain not found|LIBVIRT_/);
    }
  });
});

describe('the web API while VMs are defined and undefined', () => {
  const get = (path: string) =>
    http(web, { path, headers: { host: `127.0.0.1:${web.port}`, authorization: `Bearer ${web.token}` } });
  const show = (r: HttpResult) => `HTTP ${r.status}\n${r.body}`;

  it('GET /api/vms always answers 200 with a list', async () => {
    const before = cycles;
    for (let i = 0; i < READS; i++) {
      const r = await get('/api/vms');
      expect(r.status, show(r)).toBe(200);
      expect(Array.isArray(JSON.parse(r.body))).toBe(true);
    }
    expect(cycles).toBeGreaterThan(before);
  });

  it("GET /api/vms/NAME, /ports and /ip: the VM or 404 (a NOT_FOUND code), never a 500 or libvirt's uuid error", async () => {
    for (let i = 0; i < READS; i++) {
      const name = names[i % names.length]!;
      const [info, ports, ip] = await Promise.all([
        get(`/api/vms/${name}`),
        get(`/api/vms/${name}/ports`),
        get(`/api/vms/${name}/ip`),
      ]);
      for (const r of [info, ports, ip]) {
        expect(show(r)).not.toMatch(/matching uuid|Domain not found|LIBVIRT_/);
        expect(r.status, show(r)).toBeLessThan(500);
      }
      for (const r of [info, ports]) {
        if (r.status === 200) expect(JSON.parse(r.body).name).toBe(name);
        else {
          expect(r.status, show(r)).toBe(404);
          expect(JSON.parse(r.body).error.code, show(r)).toMatch(/NOT_FOUND$/);
        }
      }
    }
  });
});
