import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_VERSION, couldStillBeBanner, probeSshBanner, sshBannerIn } from './ssh-banner.js';

const BANNER = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3';

describe('sshBannerIn', () => {
  it('finds the identification line however the bytes were split, with CR LF or LF alone', () => {
    for (const end of ['\r\n', '\n']) {
      const sent = `${BANNER}${end}`;
      for (let cut = 0; cut <= sent.length; cut++) {
        const first = sent.slice(0, cut);
        // Before the line end has arrived the line is not complete: a longer version could still follow.
        expect(sshBannerIn(first)).toBe(cut === sent.length ? BANNER : undefined);
        expect(sshBannerIn(first + sent.slice(cut))).toBe(BANNER);
      }
    }
  });

  it('skips the other lines a server may send before its version (RFC 4253, 4.2)', () => {
    expect(sshBannerIn(`Welcome\r\nno SSH- here\r\n${BANNER}\r\n`)).toBe(BANNER);
    expect(sshBannerIn('SSH-1.99-OpenSSH_3.9\r\n')).toBe('SSH-1.99-OpenSSH_3.9');
  });

  it('is no banner: an SSH-1 server, an HTTP answer, an empty software version', () => {
    expect(sshBannerIn('SSH-1.5-old\r\n')).toBeUndefined();
    expect(sshBannerIn('HTTP/1.0 400 Bad Request\r\n\r\n')).toBeUndefined();
    expect(sshBannerIn('SSH-2.0-\r\n')).toBeUndefined();
  });
});

describe('couldStillBeBanner', () => {
  it('waits for more of a line, gives up after a version line that was not one, or an over-long line', () => {
    expect(couldStillBeBanner('')).toBe(true);
    expect(couldStillBeBanner('SSH-2.0-Open')).toBe(true);
    expect(couldStillBeBanner('Welcome\r\n')).toBe(true);
    expect(couldStillBeBanner('SSH-1.5-old\r\n')).toBe(false);
    expect(couldStillBeBanner('x'.repeat(300))).toBe(false);
    expect(couldStillBeBanner(`${'x'.repeat(300)}\r\nSSH-2.0-`)).toBe(false);
  });
});

describe('probeSshBanner against a real loopback server', () => {
  let server: Server | undefined;
  const held: Socket[] = [];
  afterEach(async () => {
    for (const s of held) s.destroy();
    held.length = 0;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A server that accepts and stays silent (as passt does for a guest not listening yet) until told to speak. */
  async function listen(): Promise<{ port: number; speak: (text: string) => void }> {
    let says: string | undefined;
    const s = createServer((sock) => {
      sock.on('error', () => {});
      held.push(sock);
      if (says !== undefined) sock.write(says);
    });
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const addr = s.address();
    if (typeof addr !== 'object' || !addr) throw new Error('no address');
    return { port: addr.port, speak: (text) => (says = text) };
  }

  it('keeps opening connections while they are accepted silently, and reports the first banner', async () => {
    const srv = await listen();
    const probe = probeSshBanner('127.0.0.1', srv.port, { intervalMs: 5, maxOpen: 10 });
    // Several silent connections held open, then the "guest" starts to speak: only new connections hear it.
    while (held.length < 3) await new Promise((r) => setTimeout(r, 5));
    const before = performance.now();
    srv.speak(`${BANNER}\r\n`);
    const seen = await probe.seen;
    expect(seen?.line).toBe(BANNER);
    expect(seen!.at).toBeGreaterThanOrEqual(before);
    // Each connection said what an ssh client says first.
    const said = await new Promise<string>((resolve) =>
      held.at(-1)!.once('data', (b) => resolve(b.toString())),
    );
    expect(said).toBe(CLIENT_VERSION);
  });

  it('gives up a held connection after attemptMs, so a full set of silent ones does not stop it', async () => {
    const srv = await listen();
    const probe = probeSshBanner('127.0.0.1', srv.port, { intervalMs: 5, attemptMs: 50, maxOpen: 2 });
    while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
    // Both slots are taken by connections that will never speak: only a new one, after they time out, can.
    srv.speak(`${BANNER}\r\n`);
    expect((await probe.seen)?.line).toBe(BANNER);
    expect(held.length).toBeGreaterThan(2);
  });

  it('does not take an answer that is not an SSH banner; stop() ends it without one', async () => {
    const srv = await listen();
    srv.speak('HTTP/1.0 400 Bad Request\r\n\r\n');
    const probe = probeSshBanner('127.0.0.1', srv.port, { intervalMs: 5 });
    while (held.length < 3) await new Promise((r) => setTimeout(r, 5));
    probe.stop();
    expect(await probe.seen).toBeUndefined();
  });

  it('keeps trying while nothing listens at all (connection refused)', async () => {
    const srv = await listen();
    const port = srv.port;
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const probe = probeSshBanner('127.0.0.1', port, { intervalMs: 5 });
    await new Promise((r) => setTimeout(r, 50));
    const again = createServer((sock) => {
      // The probe closes its other connections at once: their resets are expected.
      sock.on('error', () => {});
      held.push(sock);
      sock.end(`${BANNER}\r\n`);
    });
    server = again;
    await new Promise<void>((resolve) => again.listen(port, '127.0.0.1', resolve));
    expect((await probe.seen)?.line).toBe(BANNER);
  });
});
