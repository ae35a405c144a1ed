// roost start of a VM defined for KVM where KVM is refused now (a host whose /dev/kvm this user can no longer
// use, or a daemon that sees the host differently): the daemon is believed, the VM is defined again for TCG and
// started, and the caller is told; a refusal that is not about KVM, or a VM defined for TCG, is not retried.
// A fake daemon speaking the wire protocol refuses to start a domain whose definition says kvm.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccelDecision } from '../host/accel.js';
import { openClient, type LibvirtClient } from '../libvirt/api.js';
import { type ProcedureName, procedures } from '../libvirt/procedures.js';
import { MessageType } from '../libvirt/rpc/packet.js';
import { FakeDaemon, duplexPair, errorValue, replyError, replyOk } from '../libvirt/testing.js';
import type { Domain } from '../libvirt/types.js';
import { type Codec, decode } from '../libvirt/xdr/index.js';
import { roostPaths } from '../paths.js';
import type { VmContext } from './context.js';
import { startVm, tcgXml } from './start.js';

const byNumber = new Map(
  Object.entries(procedures).map(([name, p]) => [`${p.prog}:${p.proc}`, name as ProcedureName]),
);

const kvmXml = `<domain type='kvm'>
  <name>web</name>
  <memory unit='KiB'>524288</memory>
  <vcpu>1</vcpu>
  <cpu mode='host-passthrough' check='none' migratable='on'/>
  <devices>
    <graphics type='vnc' passwd='s3cret'/>
  </devices>
</domain>
`;

interface Fake {
  ctx: VmContext;
  /** The definition the daemon holds now. */
  xml(): string;
  /** How often the daemon was asked to start the domain. */
  starts: number;
  cacheDir: string;
}

const clients: LibvirtClient[] = [];
const dirs: string[] = [];

/** A daemon with one shut-off domain, 'web', that refuses to start it the way `refusal` says while it is kvm. */
async function fakeDaemon(xml: string, refusal: string): Promise<Fake> {
  let defined = xml;
  const dom: Domain = { name: 'web', uuid: Buffer.alloc(16, 7), id: -1 };
  const home = mkdtempSync(join(tmpdir(), 'roost-start-test-'));
  dirs.push(home);
  const fake: Fake = {
    ctx: undefined as unknown as VmContext,
    xml: () => defined,
    starts: 0,
    cacheDir: join(home, '.cache', 'roost'),
  };
  const answers: Partial<Record<ProcedureName, (a: never) => unknown>> = {
    AUTH_LIST: () => ({ types: [0] }),
    CONNECT_OPEN: () => undefined,
    CONNECT_CLOSE: () => undefined,
    DOMAIN_LOOKUP_BY_NAME: () => ({ dom }),
    DOMAIN_GET_XML_DESC: () => ({ xml: defined }),
    DOMAIN_IS_ACTIVE: () => ({ active: 0 }),
    DOMAIN_DEFINE_XML_FLAGS: (a: { xml: string }) => ((defined = a.xml), { dom }),
    DOMAIN_CREATE_WITH_FLAGS: () => {
      fake.starts++;
      if (/<domain type=["']kvm["']/.test(defined)) throw new Error(refusal);
      return { dom: { ...dom, id: 3 } };
    },
  };
  const [clientEnd, daemonEnd] = duplexPair();
  const daemon = new FakeDaemon(daemonEnd);
  daemon.handler = (p, d) => {
    if (p.header.type !== MessageType.CALL) return;
    const name = byNumber.get(`${p.header.prog}:${p.header.proc}`)!;
    const proc = procedures[name];
    const args = decode(proc.args as Codec<unknown>, p.payload);
    try {
      const answer = answers[name];
      if (!answer) throw new Error(`the fake daemon does not answer ${name}`);
      d.send(replyOk(p.header, proc.ret as Codec<unknown>, answer(args as never)));
    } catch (e) {
      d.send(replyError(p.header, errorValue(1, (e as Error).message)));
    }
  };
  const client = await openClient(clientEnd, 'qemu:///session', { keepalive: false });
  clients.push(client);
  // A remote URI: no /proc look at passt (the VM has no forwards anyway).
  fake.ctx = {
    client,
    uri: 'qemu+ssh://host.invalid/session',
    paths: roostPaths({ HOME: home }),
    env: {},
    close: () => client.close(),
  };
  return fake;
}

const tcgProbe = (): Promise<AccelDecision> =>
  Promise.resolve({
    accel: 'tcg',
    reason: '/dev/kvm is not usable by this user (EACCES)',
    bootId: 'b',
    cached: false,
  });

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('roost start of a VM defined for KVM when KVM is refused', () => {
  it('defines it again for TCG (type and CPU), starts it, says why, and corrects the accel cache', async () => {
    const f = await fakeDaemon(
      kvmXml,
      'internal error: qemu unexpectedly closed: Could not access KVM kernel module: Permission denied',
    );
    const r = await startVm(f.ctx, 'web', { probeAccel: tcgProbe });
    expect(r.alreadyRunning).toBe(false);
    expect(f.starts).toBe(2);
    expect(f.xml()).toMatch(/<domain type=["']qemu["']>/);
    expect(f.xml()).toMatch(/<cpu mode=["']maximum["']/);
    // Everything else of the definition stays, secrets included (it was read with SECURE).
    expect(f.xml()).toMatch(/passwd=["']s3cret["']/);
    expect(r.accelChanged).toBe(
      "KVM was refused (/dev/kvm is not usable by this user (EACCES)): VM 'web' is now defined for TCG and started with it",
    );
    const cache = JSON.parse(readFileSync(join(f.cacheDir, 'accel.json'), 'utf8')) as { accel: string };
    expect(cache.accel).toBe('tcg');
  });

  it("also when the daemon says it does not support virt type 'kvm'", async () => {
    const f = await fakeDaemon(
      kvmXml,
      "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'kvm'",
    );
    const r = await startVm(f.ctx, 'web', { probeAccel: tcgProbe });
    expect(f.starts).toBe(2);
    expect(r.accelChanged).toMatch(/now defined for TCG/);
  });

  it('does not retry a failure that is not about KVM, and leaves the definition alone', async () => {
    const f = await fakeDaemon(
      kvmXml,
      'internal error: process exited while connecting to monitor: out of memory',
    );
    await expect(startVm(f.ctx, 'web', { probeAccel: tcgProbe })).rejects.toThrow(
      /VM 'web' did not start: .*out of memory/,
    );
    expect(f.starts).toBe(1);
    expect(f.xml()).toBe(kvmXml);
  });

  it('starts a VM defined for TCG as it is', async () => {
    const f = await fakeDaemon(tcgXml(kvmXml), 'never');
    const r = await startVm(f.ctx, 'web', { probeAccel: tcgProbe });
    expect(f.starts).toBe(1);
    expect(r.accelChanged).toBeUndefined();
  });
});
