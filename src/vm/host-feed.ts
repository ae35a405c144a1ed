// One host of the list, followed: a connection of its own, libvirt's lifecycle events registered on it, its list
// read once the daemon has the registration (so no change falls between the list and the events), then each
// event as it comes, with the VM's state after it. A host that cannot be reached, or whose connection drops, is
// reported with why; it is dialled again after a pause that doubles up to a bound — never a busy loop — until the
// signal stops it. Every connection is closed when its attempt ends, a late one (dialled after a timeout) too.
// `roost web`'s All hosts view fans these out (src/server/host-feeds.ts).
import { RoostError } from '../errors.js';
import { ConnectionClosedError } from '../libvirt/errors.js';
import type { LifecycleEventIterator } from '../libvirt/api.js';
import type { VmLifecycleEvent } from '../shared/events.js';
import type { HostEntry, HostVms } from '../shared/hosts.js';
import type { VmContext } from './context.js';
import { vmLifecycleEvent } from './events.js';
import { listVms } from './list.js';
import { ALL_HOSTS_TIMEOUT_MS, HostTimeoutError, hostVms } from './remote-list.js';

/** The pause before the first redial, and the longest one: a host down for long is asked about once a minute. */
export const HOST_RETRY = { firstMs: 2_000, maxMs: 60_000 };

export interface HostFeedOptions {
  /** Opens a connection to the host (in `roost web`: openContext with its URI and the timeouts). */
  open: (host: HostEntry) => Promise<VmContext>;
  /** The host's row anew: its whole list after each (re)connect, or why it gave none (each failed attempt). */
  onRow: (row: HostVms) => void;
  /** A lifecycle event of one of its VMs, with the VM's state after it. */
  onEvent: (e: VmLifecycleEvent) => void;
  /** Stops following: the connection is closed, no redial. */
  signal: AbortSignal;
  /** Dialling, registering and listing must be done within this. */
  timeoutMs?: number;
  retry?: { firstMs: number; maxMs: number };
}

/** The connection of a host that had answered closed: it is down (or its daemon went away). */
export class HostGoneError extends RoostError {
  constructor(host: string, cause: unknown) {
    super('HOST_GONE', `the connection to host '${host}' closed: ${(cause as Error).message}`, {
      cause,
      hint: `it is dialled again by itself; to see why it went: roost doctor -H ${host}`,
    });
  }
}

/** Follows `host` until the signal aborts; resolves then, never rejects. */
export async function followHost(host: HostEntry, opts: HostFeedOptions): Promise<void> {
  const retry = opts.retry ?? HOST_RETRY;
  let pause = retry.firstMs;
  while (!opts.signal.aborted) {
    const { error, wasUp } = await followOnce(host, opts);
    if (opts.signal.aborted) break;
    opts.onRow(hostVms(host.name, host.uri, { error }));
    // A host that was up a while ago gets the quick first redial again; one that keeps failing, longer pauses.
    if (wasUp) pause = retry.firstMs;
    await sleep(pause, opts.signal);
    pause = Math.min(pause * 2, retry.maxMs);
  }
}

/** One connection: open, register, list, then events until it fails (resolves with why) or the signal aborts. */
async function followOnce(
  host: HostEntry,
  opts: HostFeedOptions,
): Promise<{ error: unknown; wasUp: boolean }> {
  const opened = opts.open(host);
  let events: LifecycleEventIterator | null = null;
  const stop = () => void events?.return?.();
  opts.signal.addEventListener('abort', stop, { once: true });
  let wasUp = false;
  try {
    const ms = opts.timeoutMs ?? ALL_HOSTS_TIMEOUT_MS;
    const limit = { deadline: Date.now() + ms, ms, signal: opts.signal };
    const ctx = await within(opened, host, limit);
    events = ctx.client.lifecycleEvents();
    if (opts.signal.aborted) return { error: null, wasUp };
    await within(events.registered(), host, limit);
    const vms = await within(listVms(ctx), host, limit);
    opts.onRow(hostVms(host.name, host.uri, { vms }));
    wasUp = true;
    for await (const e of events) opts.onEvent(await vmLifecycleEvent(ctx, e, true));
    return { error: new HostGoneError(host.name, new Error('its event feed ended')), wasUp };
  } catch (error) {
    const gone = wasUp && error instanceof ConnectionClosedError;
    return { error: gone ? new HostGoneError(host.name, error) : error, wasUp };
  } finally {
    opts.signal.removeEventListener('abort', stop);
    await events?.return?.().catch(() => undefined);
    void opened.then((ctx) => ctx.close()).catch(() => undefined);
  }
}

class StoppedError extends Error {}

/** `p`, unless the deadline passes first (HostTimeoutError, saying `ms`) or the signal aborts (StoppedError). */
function within<T>(
  p: Promise<T>,
  host: HostEntry,
  { deadline, ms, signal }: { deadline: number; ms: number; signal: AbortSignal },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new HostTimeoutError(host.name, ms)),
      Math.max(0, deadline - Date.now()),
    );
    const abort = () => reject(new StoppedError('stopped'));
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
    });
  });
}

/** Waits `ms`, or less when the signal aborts (closing must not wait for a pause to end). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    if (signal.aborted) done();
  });
}
