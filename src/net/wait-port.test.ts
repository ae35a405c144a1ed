import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBE_BYTES, probePort, waitForPort } from './wait-port.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  // A server's close() waits for its connections: end the ones a test left open (the silent ones).
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function serve(onConn: (s: Socket) => void): Promise<number> {
  const srv = createServer((s) => {
    sockets.push(s);
    onConn(s);
  });
  servers.push(srv);
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)));
}

describe('probePort', () => {
  it('counts a service that speaks first (ssh banner) as ready', async () => {
    const port = await serve((s) => s.end('SSH-2.0-test\r\n'));
    expect(await probePort('127.0.0.1', port)).toBe(true);
  });

  it('counts an HTTP server, which answers the probe line, as ready', async () => {
    let got = '';
    const port = await serve((s) =>
      s.on('data', (b) => {
        got += b.toString();
        if (got.includes('\r\n\r\n')) s.end('HTTP/1.0 200 OK\r\n\r\n');
      }),
    );
    expect(await probePort('127.0.0.1', port)).toBe(true);
    expect(got).toBe(PROBE_BYTES);
  });

  it('does not count a silent open connection (passt while the guest boots) as ready', async () => {
    const port = await serve(() => {});
    expect(await probePort('127.0.0.1', port, 300)).toBe(false);
  });

  it('does not count an accept-then-close (guest refused) as ready', async () => {
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
  it('returns soon after the service starts answering', async () => {
    let answering = false;
    const port = await serve((s) => (answering ? s.end('hi') : s.destroy()));
    setTimeout(() => (answering = true), 400);
    const ms = await waitForPort('127.0.0.1', port, { timeoutMs: 5000, intervalMs: 50 });
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(1500);
  });

  it('gives up after the timeout', async () => {
    const port = await serve((s) => s.destroy());
    expect(await waitForPort('127.0.0.1', port, { timeoutMs: 300, intervalMs: 50 })).toBeUndefined();
  });
});

describe('waitForPort on a slow service', () => {
  it('waits longer on a connection that stays open, so a service that answers each new one late is reached', async () => {
    // A busy guest's sshd: every new connection gets its banner only 1.5 s after it was accepted. Closing at the
    // first attempt's limit and dialling again would never see one.
    let accepted = 0;
    const port = await serve((s) => {
      accepted++;
      setTimeout(() => s.writable && s.end('SSH-2.0-slow\r\n'), 1500);
    });
    const took = await waitForPort('127.0.0.1', port, { timeoutMs: 8000 });
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(accepted).toBe(2);
  }, 15_000);
});
