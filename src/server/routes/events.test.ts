// GET /api/events over a real socket (an SSE stream never ends, so inject cannot read it): `ready` comes first;
// with ?snapshot=1 it carries the VMs, read after the stream subscribed, and an event raised while they were read
// is sent after it, not lost.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { VmContext } from '../../vm/context.js';
import { createEventHub, type EventHub } from '../event-hub.js';
import { testApp } from '../testing.js';
import { SHAPES } from '../../shared/testing.js';
import type { RoostEvent } from '../../shared/events.js';

let app: FastifyInstance;
let hub: EventHub;
let port = 0;
/** What the fake daemon's listing does while it is being read. */
let duringList = () => {};
let listFails = false;
/** Raises an event as the hub's libvirt feed would (a lifecycle event cannot be published). */
let raise: (e: RoostEvent) => void = () => {};

/** The hub with a way to raise any event to its subscribers, as its lifecycle feed does. */
function withRaise(real: EventHub): EventHub {
  const subs = new Set<(json: string, e: RoostEvent) => void>();
  raise = (e) => subs.forEach((fn) => fn(JSON.stringify(e), e));
  return {
    subscribe(fn) {
      const off = real.subscribe(fn);
      subs.add(fn);
      return () => {
        off();
        subs.delete(fn);
      };
    },
    publish: (e) => real.publish(e),
    get subscribers() {
      return real.subscribers;
    },
    close: () => real.close(),
  };
}

beforeAll(async () => {
  const client = {
    listDomains: async () => {
      duringList();
      if (listFails) throw new Error('daemon gone');
      return [];
    },
  };
  const context = async () => ({ client, uri: 'qemu:///session', env: {} }) as unknown as VmContext;
  hub = withRaise(
    createEventHub({ context: () => Promise.reject(new Error('no feed here')), retryMs: 60_000 }),
  );
  app = await testApp({ context, hub });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(() => app.close());

/** The SSE messages of /api/events`query` up to (and with) the first one for which `until` holds. */
function readStream(
  query: string,
  until: (event: string) => boolean,
  path = '/api/events',
): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const got: { event: string; data: unknown }[] = [];
    const req = request(
      { host: '127.0.0.1', port, path: `${path}${query}`, headers: { host: '127.0.0.1:8123' } },
      (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event === undefined || data === undefined) continue;
            got.push({ event, data: JSON.parse(data) });
            if (until(event)) {
              req.destroy();
              return resolve(got);
            }
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const ports = { type: 'ports' as const, name: 'web', ports: ['8080:80'] };

describe('GET /api/events', () => {
  it('starts with an empty ready when no snapshot is asked for', async () => {
    duringList = () => {
      throw new Error('the list must not be read');
    };
    const got = await readStream('', (e) => e === 'ready');
    expect(got).toEqual([{ event: 'ready', data: {} }]);
  });

  it('with ?snapshot=1, sends the VMs and kept samples in ready, then what happened while they were read', async () => {
    duringList = () => hub.publish(ports);
    const got = await readStream('?snapshot=1', (e) => e === 'ports');
    expect(got.map((m) => m.event)).toEqual(['ready', 'ports']);
    expect(got[0]!.data).toEqual({ vms: [], stats: [] });
    expect(got[1]!.data).toMatchObject(ports);
  });

  it('sends ready without the list when it cannot be read (the page then asks, and shows why)', async () => {
    listFails = true;
    duringList = () => {};
    try {
      const got = await readStream('?snapshot=1', (e) => e === 'ready');
      expect(got).toEqual([{ event: 'ready', data: {} }]);
    } finally {
      listFails = false;
    }
  });
});

describe('GET /api/hosts/events', () => {
  it('starts with ready: every row of GET /api/hosts, this server first (here: no list of other hosts)', async () => {
    duringList = () => {};
    const got = await readStream('', (e) => e === 'ready', '/api/hosts/events');
    expect(got).toEqual([
      {
        event: 'ready',
        data: { type: 'ready', hosts: [{ host: 'local', uri: 'qemu:///session', vms: [], error: null }] },
      },
    ]);
    expect(SHAPES.HostsReadyMessage.safeParse(got[0]!.data).success).toBe(true);
  });

  const started: RoostEvent = {
    type: 'vm',
    event: 'started',
    detail: 'booted',
    name: 'web',
    uuid: '00000000-0000-4000-8000-000000000001',
    time: 1,
  };

  it("keeps this server's row live: its VM events come tagged 'local', one raised while the list was read after ready", async () => {
    duringList = () => raise(started);
    const got = await readStream('', (e) => e === 'vm', '/api/hosts/events');
    expect(got.map((m) => m.event)).toEqual(['ready', 'vm']);
    expect(got[1]!.data).toEqual({ ...started, host: 'local' });
    expect(SHAPES.HostEvent.safeParse(got[1]!.data).success).toBe(true);
  });

  it("sends this server's row anew when the hub's feed restarted (resync), and nothing of its own events", async () => {
    duringList = () => {
      duringList = () => {};
      raise({ type: 'ports', name: 'web', ports: [], time: 2 });
      raise({ type: 'resync', reason: 'event feed restarted', time: 3 });
    };
    const got = await readStream('', (e) => e === 'host', '/api/hosts/events');
    expect(got.map((m) => m.event)).toEqual(['ready', 'host']);
    expect(got[1]!.data).toMatchObject({ type: 'host', host: 'local', vms: [], error: null });
  });
});
