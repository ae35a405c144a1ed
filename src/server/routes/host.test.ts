// The image routes on a bare fastify instance with the API's own error mapping: what a request can make the
// image store do, apart from the web console's authentication (tested in test/integration/web-security.test.ts).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureQcow2 } from '../../images/testing.js';
import { roostPaths, type RoostPaths } from '../../paths.js';
import type { VmContext } from '../../vm/context.js';
import type { AppDeps } from '../deps.js';
import { toApiError } from '../http-errors.js';
import { registerHostRoutes } from './host.js';

let home: string;
let paths: RoostPaths;
let app: FastifyInstance;
const published: unknown[] = [];

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'roost-host-routes-'));
  paths = roostPaths({ HOME: home });
  app = Fastify({ logger: false });
  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = toApiError(err);
    return reply.code(status).send(body);
  });
  const deps = {
    context: async () =>
      ({
        paths,
        uri: 'qemu:///session',
        env: { HOME: home },
        client: { listDomains: async () => [] },
      }) as unknown as VmContext,
    hub: { publish: (e: unknown) => published.push(e) },
    staticDir: null,
  } as unknown as AppDeps;
  registerHostRoutes(app, deps);
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await rm(home, { recursive: true, force: true });
});

/** Files a traversal out of ~/.cache/roost/images would reach: $HOME/victim.* and ~/.cache/victim.*. */
async function plantVictims(): Promise<string[]> {
  const files: string[] = [];
  for (const dir of [home, join(home, '.cache')]) {
    await mkdir(dir, { recursive: true });
    for (const ext of ['qcow2', 'part', 'json']) {
      const f = join(dir, `victim.${ext}`);
      await writeFile(f, ext === 'qcow2' ? fixtureQcow2(8192) : '{}');
      files.push(f);
    }
  }
  await mkdir(join(paths.cache, 'images'), { recursive: true });
  return files;
}

describe('DELETE /api/images/:ref', () => {
  for (const ref of [
    '..%2F..%2F..%2Fvictim',
    '..%2F..%2Fvictim',
    '%2E%2E%2F%2E%2E%2Fvictim',
    '.hidden',
    'a%00b',
  ]) {
    it(`refuses ${ref} with a 400 and deletes nothing`, async () => {
      const victims = await plantVictims();
      const r = await app.inject({ method: 'DELETE', url: `/api/images/${ref}` });
      expect(r.statusCode, r.body).toBe(400);
      // The API's path-parameter schema refuses it before the image store's own name check would.
      expect(r.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
      expect(r.body).not.toMatch(/\bat \//); // no stack trace
      for (const f of victims) expect(existsSync(f), f).toBe(true);
    });
  }

  it('still removes a valid name, and says 404 for an unknown one', async () => {
    const dir = join(paths.cache, 'images');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'dev.part'), 'x');
    const r = await app.inject({ method: 'DELETE', url: '/api/images/dev' });
    expect(r.statusCode, r.body).toBe(200);
    expect(existsSync(join(dir, 'dev.part'))).toBe(false);
    expect((await app.inject({ method: 'DELETE', url: '/api/images/dev' })).statusCode).toBe(404);
  });
});

describe('POST /api/images/pull', () => {
  it('refuses a traversal name with a 400 at once (not a 202 and a failure event later)', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/images/pull', payload: { ref: '../../victim' } });
    expect(r.statusCode, r.body).toBe(400);
    // The API's body schema refuses it before the image store's own name check would.
    expect(r.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    expect(published).toEqual([]);
  });
});

describe('GET /api/hosts', () => {
  const hostsYaml = () => join(paths.config, 'hosts.yaml');

  it("answers this server's connection as 'local' when the host list is empty", async () => {
    const r = await app.inject({ method: 'GET', url: '/api/hosts' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual([{ host: 'local', uri: 'qemu:///session', vms: [], error: null }]);
  });

  it('reports a host list it cannot read as a row saying why, and still lists this host', async () => {
    await mkdir(paths.config, { recursive: true });
    await writeFile(hostsYaml(), 'hosts: [not, a, map\n');
    const r = await app.inject({ method: 'GET', url: '/api/hosts?uri=qemu:///system' });
    expect(r.statusCode, r.body).toBe(200);
    const rows = r.json() as { host: string; uri: string; vms: unknown; error: { message: string } | null }[];
    expect(rows.map((x) => [x.host, x.uri])).toEqual([
      ['local', 'qemu:///session'],
      ['hosts.yaml', ''],
    ]);
    expect(rows[0]!.vms).toEqual([]);
    expect(rows[1]!.vms).toBeNull();
    expect(rows[1]!.error?.message).toMatch(/hosts\.yaml/);
  });
});
