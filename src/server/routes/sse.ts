// A Server-Sent Events answer, as both event streams (GET /api/events, GET /api/hosts/events) send it: no
// buffering on the way, a comment line now and then so that proxies and idle timers keep it open, and a client
// that does not keep up dropped rather than buffered without bound (it reconnects, and reads the state anew).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SECURITY_HEADERS } from '../security.js';

/** A subscriber whose socket holds more than this is too slow; it is dropped (and reconnects and resyncs). */
export const MAX_BUFFERED = 1024 * 1024;
const HEARTBEAT_MS = 25_000;

/** Takes over `reply` for an SSE stream; `closed` runs once the client went. Returns how to send one event. */
export function openSse(
  req: FastifyRequest,
  reply: FastifyReply,
  closed: () => void,
): (event: string, json: string) => void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.socket?.setNoDelay(true);
  res.write(`retry: 1000\n`);
  const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  req.raw.once('close', () => {
    clearInterval(beat);
    closed();
  });
  return (event, json) => {
    if (res.writableLength > MAX_BUFFERED) return void res.destroy();
    res.write(`event: ${event}\ndata: ${json}\n\n`);
  };
}
