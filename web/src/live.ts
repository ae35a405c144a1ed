// The page's live view of the VMs: the event stream's first message (and a read after every resync), then
// kept current by the events alone — no polling. Lifecycle events carry the VM's state after the event.
// Each connection of the stream takes a fresh single-use ticket, so it is reopened here rather than by
// EventSource's own retry (which would bring the spent ticket again). The charts' samples come the same way:
// what the server kept with the list, then a `stats` event every few seconds. The All hosts view follows every
// listed host the same way, on a stream of its own that is open only while the view is shown (useHostsLive).
import { useLayoutEffect, useState } from 'preact/hooks';
import { api, eventsUrl, hostsEventsUrl } from './api.js';
import type {
  HostsReadyMessage,
  HostStateEvent,
  HostVmEvent,
  HostVms,
  ReadySnapshot,
  RoostEvent,
  VmSummary,
} from '../../src/shared/api-types.js';
import { withVmEvent } from '../../src/shared/events.js';
import { withSamples, type StatsByVm } from '../../src/shared/plot.js';
import { asFailure, type Failure } from './components/ErrorText.js';

export type Link = 'connecting' | 'live' | 'reconnecting';

/** A stream's state in words, for its status badge. */
export function linkText(link: Link): string {
  return link === 'live' ? 'live' : link === 'connecting' ? 'connecting…' : 'reconnecting…';
}

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
      else if (e.type === 'vm') setVms((list) => withVmEvent(list, e));
      else if (e.type === 'ports') {
        setVms((list) => list.map((v) => (v.name === e.name ? { ...v, ports: e.ports } : v)));
      }
    };
    const types = ['vm', 'create', 'ports', 'image', 'resync', 'stats'];
    return follow(eventsUrl, { ready, ...Object.fromEntries(types.map((t) => [t, handle])) }, setLink);
  }, []);

  return { vms, link, recent, error, stats };
}

type Handlers = Record<string, (msg: MessageEvent<string>) => void>;

/**
 * Opens the stream at `url()` (a fresh ticket each time) with a handler per event type, and opens it again a
 * second after it fails, until the returned function stops it. `ready` means it is live.
 */
function follow(url: () => Promise<string>, on: Handlers, setLink: (l: Link) => void): () => void {
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
    url().then((u) => {
      if (stopped) return;
      es = new EventSource(u);
      es.onerror = reconnect;
      for (const [type, fn] of Object.entries(on)) es.addEventListener(type, fn);
    }, reconnect);
  }
  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    es?.close();
  };
}

export interface HostsLive {
  /** Every host's row (this server's first), null until the stream's first message. */
  hosts: HostVms[] | null;
  link: Link;
}

/**
 * Every host of the user's list, live: the rows in the stream's first message, then each listed host's VM
 * events and its row anew when it (re)connects or goes down. The server holds a connection to each host only
 * while such a stream is open: this one closes when the view is left.
 */
export function useHostsLive(): HostsLive {
  const [hosts, setHosts] = useState<HostVms[] | null>(null);
  const [link, setLink] = useState<Link>('connecting');
  useLayoutEffect(() => {
    const rowsOf = (fn: (h: HostVms) => HostVms) => setHosts((list) => list && list.map(fn));
    return follow(
      hostsEventsUrl,
      {
        ready: (msg) => {
          setHosts((JSON.parse(msg.data) as HostsReadyMessage).hosts);
          setLink('live');
        },
        vm: (msg) => {
          const e = JSON.parse(msg.data) as HostVmEvent;
          rowsOf((h) => (h.host === e.host && h.vms ? { ...h, vms: withVmEvent(h.vms, e) } : h));
        },
        host: (msg) => {
          const { type: _type, time: _time, ...row } = JSON.parse(msg.data) as HostStateEvent;
          rowsOf((h) => (h.host === row.host ? row : h));
        },
      },
      setLink,
    );
  }, []);
  return { hosts, link };
}
