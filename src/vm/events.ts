// roost's event stream: libvirt's lifecycle events (pushed by the daemon, never polled) turned into events a
// user can read — `started web (booted)` — plus roost's own (create phases, ports changed, image progress).
// `roost events` prints it; `roost web` serves it as SSE and over a WebSocket. One shape for both.
import type { LifecycleEvent } from '../libvirt/api.js';
import { LifecycleEventType } from '../libvirt/types.js';
import type { VmContext } from './context.js';
import type { LifecycleName, RoostEvent, VmLifecycleEvent } from '../shared/api-types.js';
import { LIFECYCLE_NAMES } from '../shared/events.js';
import { vmDetails } from './details.js';
import { formatUuid } from './lookup.js';

export type { LifecycleName, RoostEvent, RoostOwnEvent, VmLifecycleEvent } from '../shared/api-types.js';

const NAMES: readonly LifecycleName[] = LIFECYCLE_NAMES;

// virDomainEvent*DetailType, per event type, in libvirt's order.
const DETAILS: Record<number, string[]> = {
  [LifecycleEventType.DEFINED]: ['added', 'updated', 'renamed', 'from-snapshot'],
  [LifecycleEventType.UNDEFINED]: ['removed', 'renamed'],
  [LifecycleEventType.STARTED]: ['booted', 'migrated', 'restored', 'from-snapshot', 'wakeup', 'recreated'],
  [LifecycleEventType.SUSPENDED]: [
    'paused',
    'migrated',
    'ioerror',
    'watchdog',
    'restored',
    'from-snapshot',
    'api-error',
    'postcopy',
    'postcopy-failed',
  ],
  [LifecycleEventType.RESUMED]: ['unpaused', 'migrated', 'from-snapshot', 'postcopy', 'postcopy-failed'],
  [LifecycleEventType.STOPPED]: [
    'shutdown',
    'destroyed',
    'crashed',
    'migrated',
    'saved',
    'failed',
    'from-snapshot',
  ],
  [LifecycleEventType.SHUTDOWN]: ['finished', 'guest', 'host'],
  [LifecycleEventType.PMSUSPENDED]: ['memory', 'disk'],
  [LifecycleEventType.CRASHED]: ['panicked', 'crashloaded'],
};

export function lifecycleName(event: number): LifecycleName | string {
  return NAMES[event] ?? `event-${event}`;
}

export function detailName(event: number, detail: number): string {
  return DETAILS[event]?.[detail] ?? String(detail);
}

export interface WatchOptions {
  /** Attach each VM's state (vmDetails) to its event: one extra round trip per event. */
  withVm?: boolean;
  signal?: AbortSignal;
}

/**
 * Lifecycle events of every VM on the connection, as they happen, until the signal aborts (then it ends) or the
 * connection closes (then it throws ConnectionClosedError: start it again, the client reconnects).
 */
export async function* watchVmEvents(ctx: VmContext, opts: WatchOptions = {}): AsyncGenerator<RoostEvent> {
  const it = ctx.client.lifecycleEvents();
  const stop = () => void it.return?.();
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    if (opts.signal?.aborted) return;
    for await (const e of it) yield await vmLifecycleEvent(ctx, e, opts.withVm ?? false);
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    await it.return?.();
  }
}

/** libvirt's lifecycle event in words, with the VM's state after it when `withVm` (one more round trip). */
export async function vmLifecycleEvent(
  ctx: VmContext,
  e: LifecycleEvent,
  withVm: boolean,
): Promise<VmLifecycleEvent> {
  const event: VmLifecycleEvent = {
    type: 'vm',
    event: lifecycleName(e.event) as LifecycleName,
    detail: detailName(e.event, e.detail),
    name: e.dom.name,
    uuid: formatUuid(e.dom.uuid),
    time: Date.now(),
  };
  if (withVm) {
    event.vm =
      e.event === LifecycleEventType.UNDEFINED ? null : await vmDetails(ctx, e.dom.name).catch(() => null);
  }
  return event;
}

/** One line for humans: `12:03:01.234  started   web  (booted)`. */
export function formatEvent(e: RoostEvent): string {
  const t = new Date(e.time).toISOString().slice(11, 23);
  switch (e.type) {
    case 'vm':
      return `${t}  ${e.event.padEnd(10)} ${e.name}  (${e.detail})`;
    case 'create':
      return `${t}  ${'create'.padEnd(10)} ${e.name}  (${e.phase})`;
    case 'ports':
      return `${t}  ${'ports'.padEnd(10)} ${e.name}  ${e.ports.join(' ') || '(none)'}`;
    case 'image': {
      const pct =
        e.totalBytes && e.receivedBytes !== undefined
          ? ` ${Math.floor((100 * e.receivedBytes) / e.totalBytes)}%`
          : '';
      return `${t}  ${'image'.padEnd(10)} ${e.ref}  (${e.phase}${pct}${e.message ? `: ${e.message}` : ''})`;
    }
    case 'resync':
      return `${t}  ${'resync'.padEnd(10)} ${e.reason}`;
    case 'stats':
      return `${t}  ${'stats'.padEnd(10)} ${e.vms.length} VMs`;
  }
}
