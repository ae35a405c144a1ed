// The shapes of the event stream: `roost events --json` (one per line) and GET /api/events (SSE or WebSocket),
// docs/api.md. No imports but sibling shapes: the browser uses it too.
import type { StatsEvent, VmStats } from './stats.js';
import { summaryOf, type VmDetails, type VmSummary } from './vms.js';

/** libvirt's lifecycle event types (virDomainEventType), in libvirt's numbering order. */
export const LIFECYCLE_NAMES = [
  'defined',
  'undefined',
  'started',
  'suspended',
  'resumed',
  'stopped',
  'shutdown',
  'pmsuspended',
  'crashed',
] as const;
export type LifecycleName = (typeof LIFECYCLE_NAMES)[number];

/** A lifecycle event of one VM; `vm` is its state right after the event (null once it is undefined). */
export interface VmLifecycleEvent {
  type: 'vm';
  event: LifecycleName;
  /** libvirt's detail, in words: 'booted', 'destroyed', 'shutdown', 'updated', … */
  detail: string;
  name: string;
  uuid: string;
  /** ms since the epoch, when roost received it. */
  time: number;
  vm?: VmDetails | null;
}

/** A phase of a `POST /api/vms`. */
export interface CreateEvent {
  type: 'create';
  name: string;
  phase: string;
  time: number;
}

/** A VM's forwards after a change through the API. */
export interface PortsEvent {
  type: 'ports';
  name: string;
  ports: string[];
  time: number;
}

/** A download started by `POST /api/images/pull`. */
export interface ImageEvent {
  type: 'image';
  ref: string;
  phase: string;
  receivedBytes?: number;
  totalBytes?: number;
  /** Why it failed (phase 'failed'). */
  message?: string;
  time: number;
}

/** The stream was interrupted (the daemon went away and came back): state may have changed unseen. */
export interface ResyncEvent {
  type: 'resync';
  reason: string;
  time: number;
}

/** Events roost itself raises (the daemon knows nothing of them). */
export type RoostOwnEvent = CreateEvent | PortsEvent | ImageEvent | ResyncEvent | StatsEvent;

export type RoostEvent = VmLifecycleEvent | RoostOwnEvent;

/**
 * What `GET /api/events?snapshot=1` puts in its first message: every VM and the stats samples kept of them (the
 * last 10 minutes, oldest first), read after the stream subscribed — so no event falls between this state and
 * the stream, and a page needs no other request to draw its list and charts.
 */
export interface ReadySnapshot {
  vms: VmSummary[];
  stats: VmStats[];
}

/**
 * The first message of a WebSocket event stream (SSE sends `event: ready` with `{}`, or the snapshot). Without
 * the snapshot (not asked for, or the list could not be read) the client reads the state itself after it.
 */
export interface ReadyMessage extends Partial<ReadySnapshot> {
  type: 'ready';
}

/**
 * A list of VMs after one of their lifecycle events: the VM's row as the event left it, or none once it is gone
 * (undefined, or a transient VM that stopped). In code-unit order of names, as src/vm/list.ts sorts: the row
 * lands where a new read of the list would put it.
 */
export function withVmEvent(vms: readonly VmSummary[], e: VmLifecycleEvent): VmSummary[] {
  const rest = vms.filter((v) => v.name !== e.name);
  if (!e.vm) return rest;
  return [...rest, summaryOf(e.vm)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
