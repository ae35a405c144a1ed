// Waiting until a service in the guest answers through a forwarded port.
//
// With passt a TCP connect to the host port succeeds even when nothing listens in the guest yet: passt accepts
// first, then connects inward and closes our side when the guest refuses. So "connected" is not "ready": we count
// a port as ready when the connection either brings data (ssh sends a banner) or stays open for a moment (an
// HTTP server waits for the request). A guest that refuses closes it well within that moment.
import { connect } from 'node:net';

export const HOLD_OPEN_MS = 300;

/** One attempt: resolves true when the service answers as described above. */
export function probePort(host: string, port: number, holdMs = HOLD_OPEN_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    let timer: NodeJS.Timeout | undefined;
    sock.once('connect', () => {
      timer = setTimeout(() => finish(true), holdMs);
    });
    sock.once('data', () => finish(true));
    sock.once('end', () => finish(false));
    sock.once('close', () => finish(false));
    sock.once('error', () => finish(false));
  });
}

export interface WaitPortOptions {
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
  onAttempt?: (elapsedMs: number) => void;
}

/** Polls until the port answers; resolves with the time it took, or undefined on timeout. */
export async function waitForPort(
  host: string,
  port: number,
  opts: WaitPortOptions,
): Promise<number | undefined> {
  const started = Date.now();
  for (;;) {
    if (opts.signal?.aborted) return undefined;
    if (await probePort(host, port)) return Date.now() - started;
    const elapsed = Date.now() - started;
    opts.onAttempt?.(elapsed);
    if (elapsed >= opts.timeoutMs) return undefined;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
