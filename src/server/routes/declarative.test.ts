// POST /api/apply's refusals, through fastify's inject with no libvirt (a context whose client throws): a pasted
// file is checked as `roost apply` checks a file — and more, since it has no directory — before any VM is read.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES } from '../../declarative/parse.js';
import type { VmContext } from '../../vm/context.js';
import { createEventHub } from '../event-hub.js';
import { testApp } from '../testing.js';

const HOST = '127.0.0.1:8124';
let app: FastifyInstance;
let home: string;
let reads = 0;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'roost-apply-route-'));
  mkdirSync(join(home, 'src'));
  const client = new Proxy({}, { get: () => () => Promise.reject(new Error(`libvirt read ${++reads}`)) });
  const ctx = { client, env: { HOME: home }, uri: 'qemu:///session' } as unknown as VmContext;
  const context = () => Promise.resolve(ctx);
  const hub = createEventHub({ context: () => Promise.reject(new Error('none')), retryMs: 60_000 });
  app = await testApp({ context, hub, port: 8124 });
});
afterAll(async () => {
  await app.close();
  rmSync(home, { recursive: true, force: true });
});

const apply = (payload: object | string) =>
  app.inject({
    method: 'POST',
    url: '/api/apply',
    headers: { host: HOST, 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
const errorOf = (res: { json(): unknown }) =>
  (res.json() as { error: { code: string; message: string; detail?: string } }).error;

describe('POST /api/apply', () => {
  it('refuses every relative path, naming the line and key, since a pasted file has no directory', async () => {
    const yaml =
      'name: a\nimage: disk.qcow2\n---\nname: b\nkernel:\n  path: ./vmlinuz\n  initrd: /boot/initrd';
    const res = await apply({ yaml, dryRun: true });
    expect(res.statusCode).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('VM_FILE_INVALID');
    expect(e.message).toMatch(/^pasted file:1:1: key `image`: VM 'a': 'disk\.qcow2' is a relative path/);
    expect(e.detail).toMatch(/^pasted file:4:1: key `kernel\.path`: VM 'b': '\.\/vmlinuz'/);
    expect(reads).toBe(0);
  });

  it('reports a wrong type at its line and column', async () => {
    const e = errorOf(await apply({ yaml: 'name: a\ncpus: many\n', dryRun: true }));
    expect(e.code).toBe('VM_FILE_INVALID');
    expect(e.message).toMatch(/^pasted file:2:7: key `cpus`/);
  });

  it('refuses sharing the whole home directory, as roost apply does', async () => {
    const res = await apply({ yaml: `name: a\nmounts:\n  - host: ${home}\n`, dryRun: true });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('MOUNT_HOME');
    expect(reads).toBe(0);
  });

  it('offers no prune, and no field the CLI options would not be', async () => {
    const res = await apply({ yaml: 'name: a\n', prune: true });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('INVALID_REQUEST');
  });

  it('refuses a file over the CLI limit, and a body over twice that unread', async () => {
    const big = await apply({ yaml: `name: a\n#${'x'.repeat(MAX_FILE_BYTES)}\n`, dryRun: true });
    expect(big.statusCode).toBe(400);
    expect(errorOf(big).message).toMatch(/over 1048576 bytes/);
    const huge = await apply(`{"yaml":"${'x'.repeat(2 * MAX_FILE_BYTES)}"}`);
    expect(huge.statusCode).toBe(413);
    expect(reads).toBe(0);
  });

  it('keeps the 64 KiB limit of every other route', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/vms',
      headers: { host: HOST, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'a', cmdline: 'x'.repeat(70_000) }),
    });
    expect(res.statusCode).toBe(413);
  });
});
