// One fan-out point for every event a page or script can subscribe to: libvirt's lifecycle events (one
// registration on the daemon for all subscribers, however many tabs are open) and roost's own events that
// routes raise. Events are serialized once; a subscriber that cannot keep up is dropped, never buffered
// without bound.
import { ConnectionClosedError } from '../libvirt/errors.js';
import type { VmContext } from '../vm/context.js';
import { watchVmEvents, type RoostEvent, type RoostOwnEvent } from '../vm/events.js';

export type Subscriber = (json: string, event: RoostEvent) => void;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface EventHub {
  subscribe(fn: Subscriber): () => void;
  /** Raises one of roost's own events (the time is added here). */
  publish(e: DistributiveOmit<RoostOwnEvent, 'time'>): void;
  readonly subscribers: number;
  close(): Promise<void>;
}

export interface EventHubOptions {
  context: () => Promise<VmContext>;
  /** Called when the lifecycle feed fails (it restarts by itself). */
  onFeedError?: (err: unknown) => void;
  retryMs?: number;
}

export function createEventHub(opts: EventHubOptions): EventHub {
  const subs = new Set<Subscriber>();
  const stop = new AbortController();
  const emit = (e: RoostEvent) => {
    const json = JSON.stringify(e);
    for (const fn of subs) fn(json, e);
  };

  // The feed: registered once, restarted after the connection drops (the client redials on the next call);
  // a restart may have missed events, so it tells subscribers to read the state again.
  const feed = (async () => {
    let restarted = false;
    while (!stop.signal.aborted) {
      try {
        const ctx = await opts.context();
        if (restarted) emit({ type: 'resync', reason: 'event feed restarted', time: Date.now() });
        for await (const e of watchVmEvents(ctx, { withVm: true, signal: stop.signal })) emit(e);
      } catch (err) {
        if (stop.signal.aborted) break;
        if (!(err instanceof ConnectionClosedError)) opts.onFeedError?.(err);
      }
      if (stop.signal.aborted) break;
      restarted = true;
      // Closing must not wait for the pause to end.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, opts.retryMs ?? 1000);
        stop.signal.addEventListener('abort', done, { once: true });
        function done() {
          clearTimeout(timer);
          stop.signal.removeEventListener('abort', done);
          resolve();
        }
      });
    }
  })();

  return {
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
    publish(e) {
      emit({ ...e, time: Date.now() } as RoostEvent);
    },
    get subscribers() {
      return subs.size;
    },
    async close() {
      stop.abort();
      subs.clear();
      await feed;
    },
  };
}
