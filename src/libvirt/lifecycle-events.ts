// Domain lifecycle events as an async iterator: one registration (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY) per
// iterator, made on the first next() and undone by return(). Events wait in a bounded queue until read.

import type { LibvirtConnection } from './connection.js';
import { EventOverflowError, ProtocolError } from './errors.js';
import { type LifecycleEventMessage, events, procedures } from './procedures.js';
import type { RpcClient } from './rpc/client.js';
import { type Domain, DomainEventId, Feature } from './types.js';
import { decode } from './xdr/index.js';

export interface LifecycleEvent {
  dom: Domain;
  /** LifecycleEventType */
  event: number;
  detail: number;
}

const EVENT_QUEUE_MAX = 10_000;

/** Lifecycle events as an async iterator that can also say when the daemon has its registration. */
export interface LifecycleEventIterator extends AsyncIterableIterator<LifecycleEvent> {
  /**
   * Registers now (if next() has not already) and resolves once the daemon has the registration: every event
   * from then on is delivered. Read the state after this and no change falls between the state and the events.
   * Rejects as next() would (the daemon refused, the connection closed).
   */
  registered(): Promise<void>;
}

/**
 * Domain lifecycle events (all domains, or one) on `conn`. If the connection closes the iterator throws
 * ConnectionClosedError; it is not re-registered after a reconnect.
 */
export function lifecycleEvents(conn: LibvirtConnection, domain: Domain | null): LifecycleEventIterator {
  return new LifecycleIterator(conn, domain);
}

function deregister(rpc: RpcClient, callbackID: number): Promise<void> {
  return rpc.call(procedures.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, { callbackID }).catch(() => {});
}

/** Async iterator over lifecycle events of one registration (see lifecycleEvents). */
class LifecycleIterator implements LifecycleEventIterator {
  private readonly queue: LifecycleEvent[] = [];
  private waiter: { resolve(r: IteratorResult<LifecycleEvent>): void; reject(e: Error): void } | null = null;
  private failure: Error | null = null;
  private finished = false;
  private started: Promise<void> | null = null;
  private rpc: RpcClient | null = null;
  private callbackID: number | null = null;
  private early: LifecycleEventMessage[] = [];
  private cleanups: (() => void)[] = [];

  constructor(
    private readonly conn: LibvirtConnection,
    private readonly domain: Domain | null,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<LifecycleEvent> {
    return this;
  }

  async registered(): Promise<void> {
    await this.begin();
    if (this.failure) throw this.failure;
  }

  async next(): Promise<IteratorResult<LifecycleEvent>> {
    void this.begin();
    const item = this.queue.shift();
    if (item) return { value: item, done: false };
    if (this.failure) throw this.failure;
    if (this.finished) return { value: undefined, done: true };
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<LifecycleEvent>> {
    if (!this.finished) {
      this.finished = true;
      this.stop();
      await this.started?.catch(() => {});
      const rpc = this.rpc;
      if (rpc && !rpc.closed && this.callbackID !== null) {
        await deregister(rpc, this.callbackID);
      }
      this.wake({ value: undefined, done: true });
    }
    return { value: undefined, done: true };
  }

  private begin(): Promise<void> {
    this.started ??= this.start().catch((err: Error) => this.fail(err));
    return this.started;
  }

  private async start(): Promise<void> {
    const rpc = await this.conn.connection();
    if (!(await this.conn.supportsFeature(Feature.REMOTE_EVENT_CALLBACK))) {
      throw new ProtocolError(
        'PROTOCOL_UNSUPPORTED',
        'the daemon does not support event callbacks (feature 14)',
      );
    }
    if (this.finished) return;
    this.rpc = rpc;
    const ev = events.DOMAIN_EVENT_CALLBACK_LIFECYCLE;
    // Subscribe before registering: an event may arrive right behind the registration's reply,
    // before we know our callbackID; those wait in `early`.
    this.cleanups.push(
      rpc.subscribe(ev, (payload) => {
        let msg: LifecycleEventMessage;
        try {
          msg = decode(ev.msg, payload);
        } catch {
          return; // a malformed event is dropped, the stream of events goes on
        }
        if (this.callbackID === null) this.early.push(msg);
        else if (msg.callbackID === this.callbackID) this.deliver(msg);
      }),
      rpc.onClose((err) => this.fail(err)),
    );
    const { callbackID } = await rpc.call(procedures.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, {
      eventID: DomainEventId.LIFECYCLE,
      dom: this.domain,
    });
    this.callbackID = callbackID;
    for (const msg of this.early) if (msg.callbackID === callbackID) this.deliver(msg);
    this.early = [];
    if (this.finished) {
      // return() ran while we were registering: undo it.
      await deregister(rpc, callbackID);
    }
  }

  private deliver(msg: LifecycleEventMessage): void {
    if (this.finished || this.failure) return;
    const event: LifecycleEvent = { dom: msg.dom, event: msg.event, detail: msg.detail };
    if (this.waiter) return this.wake({ value: event, done: false });
    if (this.queue.length >= EVENT_QUEUE_MAX) {
      this.fail(new EventOverflowError(`more than ${EVENT_QUEUE_MAX} lifecycle events waiting to be read`));
      return;
    }
    this.queue.push(event);
  }

  private fail(err: Error): void {
    if (this.finished || this.failure) return;
    this.failure = err;
    this.stop();
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }

  private wake(r: IteratorResult<LifecycleEvent>): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve(r);
  }

  private stop(): void {
    for (const c of this.cleanups) c();
    this.cleanups = [];
  }
}
