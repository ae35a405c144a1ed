// The page's live view of the VMs: read once when the event stream is ready (and after every resync), then
// kept current by the events alone — no polling. Lifecycle events carry the VM's state after the event.
// Each connection of the stream takes a fresh single-use ticket, so it is reopened here rather than by
// EventSource's own retry (which would bring the spent ticket again). The charts' samples come the same way:
// the server's history of each running VM when the list is read, then a `stats` event every few seconds.
import { useEffect, useState } from 'preact/hooks';
import { api, eventsUrl } from './api.js';
import type { RoostEvent, VmSummary } from '../../src/shared/api-types.js';
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

const byName = (a: VmSummary, b: VmSummary) => a.name.localeCompare(b.name);

export function useLive(): Live {
  const [vms, setVms] = useState<VmSummary[]>([]);
  const [link, setLink] = useState<Link>('connecting');
  const [recent, setRecent] = useState<RoostEvent[]>([]);
  const [error, setError] = useState<Failure>(null);
  const [stats, setStats] = useState<StatsByVm>({});

  useEffect(() => {
    // What the server kept of each running VM (10 minutes at most) seeds its charts; events extend them.
    const history = (list: VmSummary[]) => {
      for (const v of list.filter((x) => x.state === 'running')) {
        api.stats(v.name).then(
          (h) => setStats((k) => withSamples(k, h.samples, Date.now())),
          () => {},
        );
      }
    };
    const load = () =>
      api.listVms().then(
        (list) => {
          setVms(list.sort(byName));
          setError(null);
          history(list);
        },
        (e: unknown) => setError(asFailure(e)),
      );
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
        es.addEventListener('ready', () => {
          setLink('live');
          void load();
        });
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
