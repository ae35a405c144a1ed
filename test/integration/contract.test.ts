// One answer, whichever front end asks: the built CLI's `--json` and `roost web`'s REST API, both run as the
// unprivileged test user against the real session daemon, answer create, info, connection and a failure with
// the same shape (src/shared), field for field. No guest boots: the VMs are defined only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionInfo, CreatedVm, ErrorBody, VmInfo } from '../../src/shared/testing.js';
import { http, startWeb, type RunningWeb } from '../e2e/web-server.js';
import { createScope, harness, roost, roostJson, tinyCreateArgs, tinyGuest } from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('contract', user, uri);
const guest = tinyGuest(user);
let web: RunningWeb;

const api = async (method: string, path: string, body?: unknown) => {
  const r = await http(web, {
    method,
    path,
    headers: {
      authorization: `Bearer ${web.token}`,
      host: `127.0.0.1:${web.port}`,
      origin: web.origin,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: JSON.parse(r.body) as unknown };
};

const keys = (o: unknown) => Object.keys(o as object).sort();

beforeAll(async () => {
  await scope.cleanup();
  web = await startWeb(user);
});

afterAll(async () => {
  await web?.stop();
  await scope.cleanup();
});

describe('the CLI and the API answer alike', () => {
  const byCli = scope.name('cli');
  const byApi = scope.name('api');

  it('create: the same fields, each as its shape says', async () => {
    const cli = await roostJson<unknown>(user, ['create', byCli, ...tinyCreateArgs(guest), '--no-start']);
    const rest = await api('POST', '/api/vms', {
      name: byApi,
      kernel: guest.kernel,
      initrd: guest.initrd,
      cmdline: guest.cmdline,
      memory: '256M',
      cpus: 1,
      start: false,
    });
    expect(rest.status).toBe(201);
    const a = CreatedVm.parse(cli);
    const b = CreatedVm.parse(rest.json);
    expect(keys(a)).toEqual(keys(b));
    expect({ ...a, name: '', uuid: '' }).toEqual({ ...b, name: '', uuid: '' });
    expect(a).toMatchObject({ state: 'shutoff', disk: null, sshUser: null, waitedMs: null });
  });

  it('info: the details and the address, over both', async () => {
    const cli = VmInfo.parse(await roostJson<unknown>(user, ['info', byCli]));
    const rest = await api('GET', `/api/vms/${byCli}`);
    expect(rest.status).toBe(200);
    expect(VmInfo.parse(rest.json)).toEqual(cli);
    expect(cli).toMatchObject({ state: 'shutoff', ip: null, ipSource: null });
  });

  it('connection: the same, roost version included', async () => {
    const cli = ConnectionInfo.parse(await roostJson<unknown>(user, ['connection']));
    const rest = await api('GET', '/api/connection');
    expect(ConnectionInfo.parse(rest.json)).toEqual(cli);
    expect(cli.roostVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a failure: the same error body, on stderr and as the answer', async () => {
    const missing = scope.name('missing');
    const r = await roost(user, ['info', missing, '--json']);
    expect(r.code).toBe(1);
    const cli = ErrorBody.parse(JSON.parse(r.stderr));
    const rest = await api('GET', `/api/vms/${missing}`);
    expect(rest.status).toBe(404);
    expect(ErrorBody.parse(rest.json)).toEqual(cli);
  });
});
