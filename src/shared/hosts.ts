// The shapes of roost's host list: `roost hosts ls --json`, `roost ls --all-hosts --json` (docs/cli-json.md,
// docs/hosts.md) and the web console's live view of every host, GET /api/hosts/events (docs/api.md). No imports
// but siblings: the browser uses it.
import type { VmLifecycleEvent } from './events.js';
import type { VmSummary } from './vms.js';

/** One host of ~/.config/roost/hosts.yaml: the name `-H NAME` takes, and its libvirt URI. */
export interface HostEntry {
  name: string;
  uri: string;
}

/** One host's answer in `roost ls --all-hosts --json`: its VMs, or why it gave none in time. */
export interface HostVms {
  /** The name in hosts.yaml, or 'local' for this host's default connection. */
  host: string;
  uri: string;
  /** null when the host did not answer (see error). */
  vms: VmSummary[] | null;
  /** Why the host gave no list: unreachable, refused, or no answer within the timeout. */
  error: { code: string; message: string; hint?: string } | null;
}

/** A lifecycle event of a VM on a host of the list: a `vm` event as GET /api/events sends it, and the host's name. */
export interface HostVmEvent extends VmLifecycleEvent {
  host: string;
}

/**
 * One host's row anew: its whole list when its feed (re)connected, or — `vms` null — why it went down or could
 * not be reached (the server dials it again by itself, waiting longer each time).
 */
export interface HostStateEvent extends HostVms {
  type: 'host';
  time: number;
}

/** What GET /api/hosts/events sends after `ready`. */
export type HostEvent = HostVmEvent | HostStateEvent;

/**
 * The first message of GET /api/hosts/events: every row as GET /api/hosts answers (this server's own first, as
 * it was read), then every host's events (this server's own as host 'local'), none falling in between.
 */
export interface HostsReadyMessage {
  type: 'ready';
  hosts: HostVms[];
}
