// The page's live view of the VMs: the event stream's first message (and a read after every resync), then
// kept current by the events alone — no polling. Lifecycle events carry the VM's state after the event.
// Each connection of the stream takes a fresh single-use ticket, so it is reopened here rather than by
// EventSource's own retry (which would bring the spent ticket again). The charts' samples come the same way:
// what the server kept with the list, then a `stats` event every few seconds.
import { useLayoutEffect, useState } from 'preact/hooks';
import { api, eventsUrl } from './api.js';
import type { ReadySnapshot, RoostEvent, VmSummary } from '../../src/shared/api-types.js';
import { withSamples, type StatsByVm } from '../../src/shared/plot.js';
import { asFailure, type Failure } from './components/ErrorText.js';

export type Link = 'connecting' | 'live' | 'reconnecting';

export interface Live {
  vms: VmSummary[];
  link: Link;
  /** The last few events, newest first (the activity list). */
  recent: RoostEvent[];
  /** Why the list could not be read, if it could not. */
  error: Failure;
  /** Each running VM's stats samples of the last 10 minutes, oldest first (the charts). */
  stats: StatsByVm;
}

type Listener = (e: RoostEvent) => void;
const listeners = new Set<Listener>();

/** Other components (create form, image pulls) listen to the same stream. */
export function onEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// Code-unit order, the server's (src/vm/list.ts): an event's row lands where a reload would put it.
const byName = (a: VmSummary, b: VmSummary) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function useLive(): Live {
  const [vms, setVms] = useState<VmSummary[]>([]);
  const [link, setLink] = useState<Link>('connecting');
  const [recent, setRecent] = useState<RoostEvent[]>([]);
  const [error, setError] = useState<Failure>(null);
  const [stats, setStats] = useState<StatsByVm>({});

  // A layout effect: the stream's ticket is asked for as the page first renders, not a frame later.
  useLayoutEffect(() => {
    const showList = (list: VmSummary[]) => {
      setVms(list.sort(byName));
      setError(null);
    };
    // After a resync: the list again (the charts' samples keep coming as events).
    const load = () => api.listVms().then(showList, (e: unknown) => setError(asFailure(e)));
    // The stream's first message carries the list and the samples the server kept (10 minutes at most), read
    // after it subscribed: one request fewer before the rows show, and none per running VM for its charts.
    const ready = (msg: MessageEvent<string>) => {
      setLink('live');
      const r = JSON.parse(msg.data) as Partial<ReadySnapshot>;
      if (!r.vms) return void load(); // the server could not read it: the request says why
      showList(r.vms);
      const stats = r.stats ?? [];
      if (stats.length) setStats((k) => withSamples(k, stats, Date.now()));
    };
    const handle = (msg: MessageEvent<string>) => {
      const e = JSON.parse(msg.data) as RoostEvent;
      // Every few seconds: not an activity worth listing, and no other component listens for it.
      if (e.type === 'stats') {
        setStats((k) => withSamples(k, e.vms, e.time));
        return;
      }
      setRecent((r) => [e, ...r].slice(0, 20));
      for (const fn of listeners) fn(e);
      if (e.type === 'resync') void load();
      else if (e.type === 'vm') {
        setVms((list) => {
          const rest = list.filter((v) => v.name !== e.name);
          return e.vm ? [...rest, e.vm].sort(byName) : rest;
        });
      } else if (e.type === 'ports') {
        setVms((list) => list.map((v) => (v.name === e.name ? { ...v, ports: e.ports } : v)));
      }
    };
    let es: EventSource | null = null;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const reconnect = () => {
      es?.close();
      es = null;
      setLink('reconnecting');
      if (!stopped) retry = setTimeout(connect, 1000);
    };
    function connect() {
      eventsUrl().then((url) => {
        if (stopped) return;
        es = new EventSource(url);
        es.addEventListener('ready', ready);
        es.onerror = reconnect;
        for (const t of ['vm', 'create', 'ports', 'image', 'resync', 'stats']) es.addEventListener(t, handle);
      }, reconnect);
    }
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      es?.close();
    };
  }, []);

  return { vms, link, recent, error, stats };
}
