// The All hosts view's live feed: while at least one page (or script) listens to GET /api/hosts/events, one
// connection per host of the user's hosts.yaml, each following its host's lifecycle events
// (src/vm/host-feed.ts); every event goes to every listener tagged with the host's name. The last listener to
// leave closes every connection. Hosts come only from the server's own hosts.yaml, read again when a listener
// joins (so `roost hosts add` shows on the next open); nothing a request sends names a host or a URI.
//
// Each host's row (its VMs, or why it gave none) is kept here and updated by the events, so a listener that
// joins gets every row at once (`ready`) and then the events: taken in one turn of the event loop, no event
// falls between the rows and the stream.
import type { HostEntry, HostEvent, HostVms } from '../shared/hosts.js';
import { withVmEvent } from '../shared/events.js';
import type { VmContext } from '../vm/context.js';

export type HostSubscriber = (json: string, e: HostEvent) => void;

export interface HostFeeds {
  /**
   * Listens: `ready` gets every host's row once each has answered or failed once (each within its timeout),
   * then `send` gets every event. Returns the way out; the last one out closes every host's connection.
   */
  subscribe(send: HostSubscriber, ready: (rows: HostVms[]) => void): () => void;
  /** Hosts followed now (a connection open, being dialled, or waiting to redial). */
  readonly following: number;
  /** Stops every feed and waits until each connection is closed. */
  close(): Promise<void>;
}

export interface HostFeedsOptions {
  /** The hosts to follow: the user's hosts.yaml (a file that cannot be read throws: one row says why). */
  hosts: () => Promise<HostEntry[]>;
  open: (host: HostEntry) => Promise<VmContext>;
  timeoutMs?: number;
  retry?: { firstMs: number; maxMs: number };
}

interface Feed {
  host: HostEntry;
  row: HostVms | null;
  answered: Promise<void>;
  stop: AbortController;
}

interface Listener {
  send: HostSubscriber;
  live: boolean;
}

export function createHostFeeds(opts: HostFeedsOptions): HostFeeds {
  return new ListedHosts(opts);
}

class ListedHosts implements HostFeeds {
  /** By host name, in the list's order: the rows follow it. */
  private feeds = new Map<string, Feed>();
  /** Why hosts.yaml gave no hosts, as a row (GET /api/hosts shows it so too). */
  private listRow: HostVms | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  /** Joins are handled one at a time: each reads hosts.yaml and starts or stops feeds to match. */
  private joining = Promise.resolve();

  constructor(private readonly opts: HostFeedsOptions) {}

  subscribe(send: HostSubscriber, ready: (rows: HostVms[]) => void): () => void {
    if (this.closed) return () => {};
    const me: Listener = { send, live: false };
    this.listeners.add(me);
    this.joining = this.joining
      .then(() => this.match())
      .then(() => Promise.all([...this.feeds.values()].map((f) => f.answered)))
      .then(() => {
        if (!this.listeners.has(me)) return;
        // The rows and going live in one turn: the next event is the first this listener gets.
        ready(this.rows());
        me.live = true;
      })
      .catch(() => undefined);
    return () => {
      if (this.listeners.delete(me) && this.listeners.size === 0) this.stopAll();
    };
  }

  get following(): number {
    return this.feeds.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.stopAll();
    await Promise.all([...this.running]);
  }

  private emit(e: HostEvent): void {
    const json = JSON.stringify(e);
    for (const l of this.listeners) if (l.live) l.send(json, e);
  }

  private rows(): HostVms[] {
    const rows = [...this.feeds.values()].map((f) => f.row ?? notAnswered(f.host));
    return this.listRow ? [this.listRow, ...rows] : rows;
  }

  /** Reads hosts.yaml and follows exactly its hosts (a host whose URI changed is dialled anew). */
  private async match(): Promise<void> {
    let hosts: HostEntry[] = [];
    try {
      hosts = await this.opts.hosts();
      this.listRow = null;
    } catch (error) {
      const { hostVms } = await import('../vm/remote-list.js');
      this.listRow = hostVms('hosts.yaml', '', { error });
    }
    if (this.listeners.size === 0 || this.closed) return;
    const kept = this.feeds;
    this.feeds = new Map();
    for (const h of hosts) {
      const old = kept.get(h.name);
      this.feeds.set(h.name, old && old.host.uri === h.uri ? old : this.start(h));
    }
    for (const [name, f] of kept) if (this.feeds.get(name) !== f) f.stop.abort();
  }

  private start(host: HostEntry): Feed {
    const stop = new AbortController();
    let answer!: () => void;
    const feed: Feed = { host, row: null, answered: new Promise((r) => (answer = r)), stop };
    const done = this.follow(feed, () => answer())
      .catch(() => undefined)
      .finally(() => {
        answer();
        this.running.delete(done);
      });
    this.running.add(done);
    return feed;
  }

  private async follow(feed: Feed, answered: () => void): Promise<void> {
    const { followHost } = await import('../vm/host-feed.js');
    await followHost(feed.host, {
      open: this.opts.open,
      signal: feed.stop.signal,
      timeoutMs: this.opts.timeoutMs,
      retry: this.opts.retry,
      onRow: (row) => {
        feed.row = row;
        answered();
        this.emit({ type: 'host', ...row, time: Date.now() });
      },
      onEvent: (e) => {
        if (feed.row?.vms) feed.row = { ...feed.row, vms: withVmEvent(feed.row.vms, e) };
        this.emit({ ...e, host: feed.host.name });
      },
    });
  }

  private stopAll(): void {
    for (const f of this.feeds.values()) f.stop.abort();
    this.feeds.clear();
    this.listRow = null;
  }
}

/** The row of a host whose feed stopped before it ever answered (it failed to start, or the server is closing). */
function notAnswered(host: HostEntry): HostVms {
  return {
    host: host.name,
    uri: host.uri,
    vms: null,
    error: { code: 'HOST_PENDING', message: `host '${host.name}' has not answered yet` },
  };
}
