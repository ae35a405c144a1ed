// When did the guest's sshd start answering? A prober for bench/boot-ssh.ts that opens a new connection to a
// forwarded port every few milliseconds and notes the moment the first SSH identification line arrives.
//
// Through passt, a connect to the host port succeeds before the guest listens (passt accepts and holds the
// connection while it reaches the guest), so an accepted connection means nothing: only the server's banner
// (RFC 4253, 4.2: `SSH-2.0-…`, sent first by the server) shows that sshd itself is up. New attempts keep being
// opened while older ones are held, because a held one only sees the banner when passt retries its SYN, later
// than sshd began to listen. Only a few are open at once: while the guest's network is not up, each one makes
// passt hold a flow and retry the guest for seconds, and hundreds of them cost passt a share of the CPU the
// booting guest needs. Once the guest's kernel answers, a connection to a port nobody listens on is reset at
// once, and the prober is back to one attempt per interval.
//
// An attempt is never given up early: once sshd has accepted it, its banner is on the way, and under TCG it can
// take seconds (sshd starts a new sshd process for each connection). Closing it and connecting again would
// start yet another one in a guest that is short of CPU already, and delay the very banner being waited for.
// But not forever either: a guest whose accept queue overflowed drops the handshake silently while passt keeps
// the host side open, and such a connection would never speak.
import { connect, type Socket } from 'node:net';

/** What the prober says on connecting: an ssh client's identification line. */
export const CLIENT_VERSION = 'SSH-2.0-roost_bench_probe\r\n';

/** The longest identification line RFC 4253 allows, CR LF included; the lines before it are as long. */
const MAX_LINE = 255;

/**
 * The server's identification line in what it has sent so far, without its line end, once that line is
 * complete; undefined while it is not (more bytes may come) or when the bytes are not an SSH-2 server's.
 * The server may send other lines first (RFC 4253, 4.2); a line that starts with `SSH-` is its version.
 */
export function sshBannerIn(received: string): string | undefined {
  let start = 0;
  for (;;) {
    const end = received.indexOf('\n', start);
    if (end < 0) return undefined;
    const line = received.slice(start, end).replace(/\r$/, '');
    if (line.startsWith('SSH-')) return /^SSH-(2\.0|1\.99)-\S/.test(line) ? line : undefined;
    start = end + 1;
  }
}

/** Whether more bytes could still complete a banner (else the attempt is given up). */
export function couldStillBeBanner(received: string): boolean {
  const lastLine = received.slice(received.lastIndexOf('\n') + 1);
  if (lastLine.length > MAX_LINE) return false;
  const lines = received.split('\n').slice(0, -1);
  return !lines.some((l) => l.startsWith('SSH-')) && lines.every((l) => l.length <= MAX_LINE);
}

export interface BannerSeen {
  /** `performance.now()` when the banner's last byte arrived. */
  at: number;
  line: string;
}

export interface BannerProbe {
  /** The first banner; undefined when the probe was stopped before any came. Never rejects. */
  seen: Promise<BannerSeen | undefined>;
  stop(): void;
}

export interface BannerProbeOptions {
  /** How often a new connection is opened. */
  intervalMs?: number;
  /** How long one connection may wait for its banner before it is closed (passt ends a held one sooner). */
  attemptMs?: number;
  /** At most this many connections open at once (held ones count). */
  maxOpen?: number;
}

/** Starts probing HOST:PORT for an SSH banner; it stops by itself when the first one arrives. */
export function probeSshBanner(host: string, port: number, opts: BannerProbeOptions = {}): BannerProbe {
  const { intervalMs = 20, attemptMs = 15_000, maxOpen = 4 } = opts;
  const open = new Set<Socket>();
  let finish: (s: BannerSeen | undefined) => void = () => {};
  const seen = new Promise<BannerSeen | undefined>((resolve) => (finish = resolve));
  let stopped = false;
  const stop = (result?: BannerSeen) => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    for (const s of open) s.destroy();
    open.clear();
    finish(result);
  };
  const attempt = () => {
    if (stopped || open.size >= maxOpen) return;
    const sock = connect({ host, port });
    // As an ssh client does: its own version line at once (sshd still speaks first; nothing waits on ours).
    sock.once('connect', () => sock.write(CLIENT_VERSION));
    open.add(sock);
    let received = '';
    const close = () => {
      open.delete(sock);
      sock.destroy();
    };
    sock.setTimeout(attemptMs, close);
    sock.on('data', (b: Buffer) => {
      received += b.toString('latin1');
      const line = sshBannerIn(received);
      if (line !== undefined) stop({ at: performance.now(), line });
      else if (!couldStillBeBanner(received)) close();
    });
    sock.on('error', close);
    sock.on('close', close);
  };
  const timer = setInterval(attempt, intervalMs);
  attempt();
  return { seen, stop: () => stop() };
}
