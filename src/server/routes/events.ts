// GET /api/events: the event stream, as Server-Sent Events (EventSource) or — the same URL upgraded — as a
// WebSocket of JSON text messages. Both are fed by the hub: libvirt pushes, nothing polls.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { SECURITY_HEADERS } from '../security.js';
import type { ReadyMessage } from '../../shared/events.js';

/** A subscriber whose socket holds more than this is too slow; it is dropped (and reconnects and resyncs). */
const MAX_BUFFERED = 1024 * 1024;
const HEARTBEAT_MS = 25_000;

export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.route({
    method: 'GET',
    url: '/api/events',
    handler: async (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.socket?.setNoDelay(true);
      // `ready` first: the page reads the list after this, so no event falls between its read and the stream.
      res.write(`retry: 1000\nevent: ready\ndata: {}\n\n`);
      const unsubscribe = deps.hub.subscribe((json, e) => {
        if (res.writableLength > MAX_BUFFERED) return res.destroy();
        res.write(`event: ${e.type}\ndata: ${json}\n\n`);
      });
      const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      req.raw.once('close', () => {
        clearInterval(beat);
        unsubscribe();
      });
    },
    wsHandler: (socket) => {
      socket.send(JSON.stringify({ type: 'ready' } satisfies ReadyMessage));
      const unsubscribe = deps.hub.subscribe((json) => {
        if (socket.bufferedAmount > MAX_BUFFERED) return socket.terminate();
        socket.send(json);
      });
      socket.on('close', unsubscribe);
      // Nothing is expected from the client; anything it sends is ignored.
    },
  });
}
