// Small network helpers for tests; they only ever talk to loopback.
import { createServer } from 'node:net';
import { request } from 'node:http';
import { waitUntil } from './processes.js';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** GET http://127.0.0.1:PORT/PATH; resolves with status and body, rejects on connection errors. */
export function httpGet(
  port: number,
  path = '/',
  timeoutMs = 3_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET 127.0.0.1:${port}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls until the tiny guest's page answers on 127.0.0.1:PORT (through a forward); false on timeout. */
export function tinyPageAnswers(port: number, timeoutMs: number, stepMs = 250): Promise<boolean> {
  return waitUntil(
    () =>
      httpGet(port)
        .then((r) => r.body.includes('roost tiny guest OK'))
        .catch(() => false),
    timeoutMs,
    stepMs,
  );
}
