// GET /api/vms/:name/stats through fastify's inject, over the fake daemon: the history shape, and a 404 for a
// VM that does not exist rather than an empty history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { LibvirtClient } from '../../libvirt/api.js';
import { openFakeLibvirt } from '../../libvirt/testing.js';
import { VmStatsHistory } from '../../shared/testing.js';
import type { VmContext } from '../../vm/context.js';
import { testApp } from '../testing.js';

let app: FastifyInstance;
let client: LibvirtClient;

beforeAll(async () => {
  const opened = await openFakeLibvirt();
  client = opened.client;
  opened.fake.domains.set('web', {
    name: 'web',
    uuid: Buffer.alloc(16, 1),
    xml: '',
    active: true,
    persistent: true,
  });
  const context = async () => ({ client }) as unknown as VmContext;
  app = await testApp({ context });
});
afterAll(async () => {
  await app.close();
  await client.close();
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:8123' } });

describe('GET /api/vms/:name/stats', () => {
  it('answers the kept samples of a VM (none before a page listened)', async () => {
    const res = await get('/api/vms/web/stats');
    expect(res.statusCode).toBe(200);
    expect(VmStatsHistory.parse(res.json())).toEqual({ name: 'web', intervalMs: 5000, samples: [] });
  });

  it('is a 404 for a VM that does not exist', async () => {
    const res = await get('/api/vms/nope/stats');
    expect(res.statusCode).toBe(404);
  });
});
