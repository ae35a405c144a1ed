// GET /api/vms/:name/logs through fastify's inject, over the fake daemon and log files in a temporary directory:
// the serial log (the path in the VM's XML) and QEMU's (under XDG_CACHE_HOME), as `roost logs --json` answers;
// 404 for a log not written yet and for a VM that does not exist; 400 for a kind that is neither.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../../libvirt/api.js';
import { openFakeLibvirt } from '../../libvirt/testing.js';
import { SHAPES } from '../../shared/testing.js';
import type { VmContext } from '../../vm/context.js';
import { testApp } from '../testing.js';

let app: FastifyInstance;
let client: LibvirtClient;
let dir: string;

const domainXml = (name: string, log: string) =>
  `<domain type='qemu'><name>${name}</name><devices><serial type='pty'><log file='${log}'/></serial></devices></domain>`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roost-logs-'));
  const serial = join(dir, 'web.serial.log');
  writeFileSync(serial, 'Booting\r\n\x1b[1mROOST-TINY-READY\x1b[0m ip=none\r\n');
  mkdirSync(join(dir, 'cache', 'libvirt', 'qemu', 'log'), { recursive: true });
  writeFileSync(
    join(dir, 'cache', 'libvirt', 'qemu', 'log', 'web.log'),
    'qemu-system-x86_64 -name guest=web\n',
  );
  const opened = await openFakeLibvirt();
  client = opened.client;
  for (const [name, log] of [
    ['web', serial],
    ['fresh', join(dir, 'fresh.serial.log')],
  ] as const) {
    opened.fake.domains.set(name, {
      name,
      uuid: Buffer.alloc(16, name.length),
      xml: domainXml(name, log),
      active: false,
      persistent: true,
    });
  }
  const context = async () =>
    ({ client, uri: 'qemu:///session', env: { XDG_CACHE_HOME: join(dir, 'cache') } }) as unknown as VmContext;
  app = await testApp({ context });
});
afterAll(async () => {
  await app.close();
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:8123' } });

describe('GET /api/vms/:name/logs', () => {
  it("answers the serial log as `roost logs --json` does: the guest's bytes as written", async () => {
    const res = await get('/api/vms/web/logs');
    expect(res.statusCode).toBe(200);
    expect(SHAPES.VmLog.parse(res.json())).toEqual({
      name: 'web',
      kind: 'serial',
      path: join(dir, 'web.serial.log'),
      text: 'Booting\r\n\x1b[1mROOST-TINY-READY\x1b[0m ip=none\r\n',
    });
  });

  it("answers QEMU's log with ?kind=qemu", async () => {
    const res = await get('/api/vms/web/logs?kind=qemu');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'qemu', text: 'qemu-system-x86_64 -name guest=web\n' });
  });

  it('is a 404 for a log not written yet, and for a VM that does not exist', async () => {
    const fresh = await get('/api/vms/fresh/logs');
    expect(fresh.statusCode).toBe(404);
    expect(fresh.json()).toMatchObject({ error: { code: 'NO_LOG_YET' } });
    expect((await get('/api/vms/nope/logs')).statusCode).toBe(404);
  });

  it('is a 400 for a kind of log there is not', async () => {
    expect((await get('/api/vms/web/logs?kind=../../etc/passwd')).statusCode).toBe(400);
  });
});
