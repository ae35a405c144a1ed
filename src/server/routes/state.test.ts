// The snapshot, clone and autostart routes on a bare fastify instance with the API's error mapping: what a
// request is refused before any use case runs, and the autostart routes' answers from a home of the test's own
// (the real daemon, and the console's authentication, are test/e2e/web-state.test.ts's).
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AutostartDisabled, AutostartList, ErrorBody } from '../../shared/testing.js';
import { UNIT_MARKER } from '../../vm/autostart.js';
import type { VmContext } from '../../vm/context.js';
import type { AppDeps } from '../deps.js';
import { toApiError } from '../http-errors.js';
import { registerStateRoutes } from './state.js';

let home: string;
let app: FastifyInstance;
let uri: string;
const calls: string[] = [];

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'roost-state-routes-'));
  uri = 'qemu:///session';
  calls.length = 0;
  app = Fastify({ logger: false });
  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = toApiError(err);
    return reply.code(status).send(body);
  });
  // Any call to libvirt is recorded and fails: a refused request must make none.
  const client = new Proxy(
    {},
    { get: (_t, p) => () => Promise.reject(new Error(`called ${calls.push(String(p))}`)) },
  );
  const deps = {
    context: async () => ({ uri, env: { HOME: home, PATH: '' }, client }) as unknown as VmContext,
    hub: { publish: () => {} },
    staticDir: null,
  } as unknown as AppDeps;
  registerStateRoutes(app, deps);
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await rm(home, { recursive: true, force: true });
});

async function unitOf(vm: string): Promise<string> {
  const units = join(home, '.config', 'systemd', 'user');
  await mkdir(join(units, 'default.target.wants'), { recursive: true });
  await writeFile(join(units, `roost-vm-${vm}.service`), `${UNIT_MARKER}${vm}\n[Unit]\n`);
  await symlink(`../roost-vm-${vm}.service`, join(units, 'default.target.wants', `roost-vm-${vm}.service`));
  return units;
}

describe('refused before libvirt is asked', () => {
  it.each([
    ['POST', '/api/vms/web/snapshots', { name: '../x' }],
    ['POST', '/api/vms/web/snapshots', { name: 's', description: 'a\u0007b' }],
    ['POST', '/api/vms/web/snapshots', { name: 's', memory: true }],
    ['POST', '/api/vms/web/snapshots/..%2Fx/revert', {}],
    ['DELETE', '/api/vms/web/snapshots/-x', undefined],
    ['POST', '/api/vms/web/clone', { name: 'a/b' }],
    ['POST', '/api/vms/web/clone', { name: 'web2', linked: 'yes' }],
    ['PUT', '/api/vms/web/autostart', { atBoot: 1 }],
  ] as const)('%s %s %j: 400', async (method, url, payload) => {
    const res = await app.inject({ method, url, payload });
    expect(res.statusCode).toBe(400);
    expect(ErrorBody.parse(res.json()).error.code).toBe('INVALID_REQUEST');
    expect(calls).toEqual([]);
  });

  it('refuses autostart for a connection other than the local session', async () => {
    uri = 'qemu+ssh://host/session';
    const res = await app.inject({ method: 'PUT', url: '/api/vms/web/autostart', payload: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('AUTOSTART_NOT_LOCAL_SESSION');
    expect(calls).toEqual([]);
  });
});

describe('autostart routes', () => {
  it('list the VMs with a unit, and remove one, as the CLI does', async () => {
    const units = await unitOf('web');
    const list = await app.inject({ method: 'GET', url: '/api/autostart' });
    expect(AutostartList.parse(list.json()).vms).toEqual(['web']);
    const off = await app.inject({ method: 'DELETE', url: '/api/vms/web/autostart' });
    expect(AutostartDisabled.parse(off.json())).toEqual({ name: 'web', removed: true });
    expect(await readdir(units)).toEqual(['default.target.wants']);
    const again = await app.inject({ method: 'DELETE', url: '/api/vms/web/autostart' });
    expect(again.json()).toEqual({ name: 'web', removed: false });
  });
});
