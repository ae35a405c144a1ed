// Waiting until a service in the guest answers through a forwarded port.
//
// With passt, a TCP connect to the host port succeeds even when the guest is not up yet: passt accepts at once
// and holds the connection while it tries to reach the guest (a booting guest's forwards accept and stay silent
// until its service is up). So "connected" and even "stays open" mean nothing. We count a
// port as ready only when bytes come back: either the service speaks first (ssh, SMTP, MySQL) or it answers the
// one line we send — `HEAD / HTTP/1.0` and a blank line, which HTTP servers answer, line protocols answer with an
// error, and echo servers echo. A service that does neither (e.g. PostgreSQL, which waits for a binary startup
// packet) never counts as ready: wait for it another way (`--wait none`, then your own check).

export const PROBE_BYTES = 'HEAD / HTTP/1.0\r\n\r\n';
/** The first attempt's limit: long enough for a TCG guest to answer, short enough to retry soon after it comes up. */
export const ATTEMPT_MS = 1000;
/**
 * The longest an attempt waits on a connection that stays open and silent. A slow guest's sshd that has
 * accepted a connection may take seconds to send its banner; closing it and dialling again makes sshd start
 * over for every new connection, and a busy guest then never catches up (its unauthenticated-connection limit
 * fills). So an attempt that timed out while open makes the next one wait twice as long, up to this.
 */
export const MAX_ATTEMPT_MS = 8000;

/** How one attempt ended: bytes came back, the connection failed or closed at once, or it stayed silent. */
export type ProbeOutcome = 'answered' | 'closed' | 'silent';

/** One attempt: resolves true when any bytes come back from the service. */
export async function probePort(host: string, port: number, attemptMs = ATTEMPT_MS): Promise<boolean> {
  return (await probeOnce(host, port, attemptMs)) === 'answered';
}

async function probeOnce(host: string, port: number, attemptMs: number): Promise<ProbeOutcome> {
  // node:net only when a command waits for a port: `create --wait none` and the rest never load it for this.
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let done = false;
    const finish = (outcome: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('silent'), attemptMs);
    sock.once('connect', () => sock.write(PROBE_BYTES));
    sock.once('data', () => finish('answered'));
    sock.once('close', () => finish('closed'));
    sock.once('error', () => finish('closed'));
  });
}

export interface WaitPortOptions {
  timeoutMs: number;
  /** Pause between attempts that failed at once (refused, reset). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Polls until the port answers; resolves with the time it took, or undefined on timeout. */
export async function waitForPort(
  host: string,
  port: number,
  opts: WaitPortOptions,
): Promise<number | undefined> {
  const started = Date.now();
  let attemptMs = ATTEMPT_MS;
  for (;;) {
    if (opts.signal?.aborted) return undefined;
    const left = opts.timeoutMs - (Date.now() - started);
    if (left <= 0) return undefined;
    const outcome = await probeOnce(host, port, Math.min(attemptMs, left));
    if (outcome === 'answered') return Date.now() - started;
    // A silent connection: the service (or passt, before the guest's network is up) holds it; give the next one
    // longer. A refused or reset one: nothing listens yet; retry soon, with the short limit again.
    attemptMs = outcome === 'silent' ? Math.min(attemptMs * 2, MAX_ATTEMPT_MS) : ATTEMPT_MS;
    if (outcome === 'closed') await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
