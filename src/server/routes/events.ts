// GET /api/events: the event stream, as Server-Sent Events (EventSource) or — the same URL upgraded — as a
// WebSocket of JSON text messages. Both are fed by the hub: libvirt pushes, nothing polls.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import type { Subscriber } from '../event-hub.js';
import { MAX_BUFFERED, openSse } from './sse.js';
import { keptStats } from './stats.js';
import type { ReadyMessage, ReadySnapshot, RoostEvent } from '../../shared/events.js';

export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.route({
    method: 'GET',
    url: '/api/events',
    handler: async (req, reply) => {
      let unsubscribe = () => {};
      const send = openSse(req, reply, () => unsubscribe());
      unsubscribe = subscribeAfterReady(
        deps,
        wantsSnapshot(req.url),
        (json, e) => send(e.type, json),
        (ready) => send('ready', JSON.stringify(ready)),
      );
    },
    wsHandler: (socket, req) => {
      const unsubscribe = subscribeAfterReady(
        deps,
        wantsSnapshot(req.url),
        (json) => {
          if (socket.bufferedAmount > MAX_BUFFERED) return socket.terminate();
          socket.send(json);
        },
        (ready) => {
          socket.send(JSON.stringify({ type: 'ready', ...ready } satisfies ReadyMessage));
        },
      );
      socket.on('close', unsubscribe);
      // Nothing is expected from the client; anything it sends is ignored.
    },
  });
}

/** `?snapshot=1`: the first message carries the VMs and their kept samples. */
function wantsSnapshot(url: string): boolean {
  return new URL(url, 'http://x').searchParams.get('snapshot') === '1';
}

/**
 * Subscribes `send` at once and sends `ready` first. With a snapshot, the VMs are read after subscribing and
 * the events that arrive meanwhile are held and sent after `ready`: none falls between the state and the
 * stream (one that the state already shows is harmless: each event carries the VM's whole state). A list that
 * cannot be read leaves `ready` without it: the client reads the list itself and shows why it failed.
 */
function subscribeAfterReady(
  deps: AppDeps,
  snapshot: boolean,
  send: Subscriber,
  ready: (r: Partial<ReadySnapshot>) => void,
): () => void {
  if (!snapshot) {
    ready({});
    return deps.hub.subscribe(send);
  }
  let held: [string, RoostEvent][] | null = [];
  let gone = false;
  const unsubscribe = deps.hub.subscribe((json, e) => (held ? held.push([json, e]) : send(json, e)));
  void readSnapshot(deps).then((r) => {
    if (gone) return;
    ready(r);
    for (const [json, e] of held ?? []) send(json, e);
    held = null;
  });
  return () => {
    gone = true;
    unsubscribe();
  };
}

async function readSnapshot(deps: AppDeps): Promise<Partial<ReadySnapshot>> {
  try {
    const [{ listVms }, ctx] = await Promise.all([import('../../vm/list.js'), deps.context()]);
    return { vms: await listVms(ctx), stats: keptStats(deps.hub) };
  } catch {
    return {};
  }
}
