import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probePort, waitForPort } from './wait-port.js';

const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r)))));

function serve(onConn: (s: import('node:net').Socket) => void): Promise<number> {
  const srv = createServer(onConn);
  servers.push(srv);
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)));
}

describe('probePort', () => {
  it('counts a service that sends a banner as ready', async () => {
    const port = await serve((s) => s.end('SSH-2.0-test\r\n'));
    expect(await probePort('127.0.0.1', port)).toBe(true);
  });
  it('counts a service that waits for the client (HTTP) as ready', async () => {
    const port = await serve(() => {});
    expect(await probePort('127.0.0.1', port)).toBe(true);
  });
  it('does not count an accept-then-close (passt with no guest listener) as ready', async () => {
    const port = await serve((s) => s.destroy());
    expect(await probePort('127.0.0.1', port)).toBe(false);
  });
  it('does not count a refused connection as ready', async () => {
    const port = await serve(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    expect(await probePort('127.0.0.1', port)).toBe(false);
  });
});

describe('waitForPort', () => {
  it('gives up after the timeout', async () => {
    const port = await serve((s) => s.destroy());
    expect(await waitForPort('127.0.0.1', port, { timeoutMs: 300, intervalMs: 50 })).toBeUndefined();
  });
});
