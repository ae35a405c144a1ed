// The shapes of a VM's port forwards and addresses: `roost port ls|add|rm --json`, `roost ip --json` and
// /api/vms/:name/ports, /api/vms/:name/ip (docs/cli-json.md, docs/api.md). No imports: the browser uses it too.
import type { AddressSource, VmState } from './vms.js';

/** Where a forward stands on a running VM; 'configured' for a VM that is not running. */
export type ForwardState = 'active' | 'next-start' | 'removed-at-next-start' | 'configured' | 'auto';

export interface PortRow {
  /** e.g. '127.0.0.1:8080:80/tcp'. */
  spec: string;
  proto: 'tcp' | 'udp';
  address: string;
  /** '8080' or '8000-8010'. */
  host: string;
  guest: string;
  state: ForwardState;
  /** Listens on every host address: reachable from the network. */
  exposed: boolean;
}

/** A row of `port ls`: the forward, and how to reach it from here when it listens on another host. */
export interface PortListRow extends PortRow {
  /**
   * A VM of another host (qemu+ssh://): the `ssh -N -L` command that brings this forward to the same port of this
   * host's 127.0.0.1, through the URI's login. null for a VM of this host, and for a UDP forward, one that ends
   * at the next stop, or an auto-ports one (ssh -L carries TCP; those are not the VM's to reach).
   */
  tunnel: string | null;
}

/** `roost port ls --json` and `GET /api/vms/:name/ports`. */
export interface PortList {
  name: string;
  running: boolean;
  /** MAC of the passt NIC the forwards belong to; null when the VM has none. */
  mac: string | null;
  ports: PortListRow[];
}

/** How a change reached the VM. */
export type Applied =
  /** Nothing to change. */
  | 'unchanged'
  /** The VM is not running: its next start uses the new forwards. */
  | 'stopped'
  /** libvirt changed the running NIC in place. */
  | 'live-update'
  /** The NIC was unplugged and plugged back with the new forwards. */
  | 'replug'
  /** Saved; the running VM keeps its old forwards until it is stopped and started. */
  | 'next-start';

/** `roost port add|rm --json` and POST/DELETE /api/vms/:name/ports. */
export interface PortChangeResult {
  name: string;
  added: string[];
  removed: string[];
  /** Forwards `port add` was given that the VM already has (nothing changed for them). */
  already: string[];
  applied: Applied;
  /** Why a running VM did not get the change live (for 'next-start'). */
  reason?: string;
  /** The daemon went away during the change, and roost found it complete all the same: what happened. */
  recovered?: string;
  /** A signal that came once the NIC was unplugged: the change was finished rather than undone. */
  interruptedBy?: string;
  /** Replug: how long the guest had no NIC (ms, detach call to attach done). */
  nicGapMs?: number;
  /** Replug: ms from the detach until the guest agent reported an IPv4 address on the NIC again; null if it did not within the wait. */
  guestBackMs?: number | null;
  warnings: string[];
  /** The VM's forwards now (persistent config). */
  ports: string[];
}

/** One address of a NIC, and where it was learnt. */
export interface FoundAddress {
  ip: string;
  family: 'ipv4' | 'ipv6';
  prefix?: number;
  /** Lower-case MAC address of the NIC the address belongs to. */
  mac: string;
  source: AddressSource;
  /** Guest interface name (agent) or host device / file the entry came from. */
  where?: string;
}

/** One source asked for a NIC's address, and what it said. */
export interface Attempt {
  source: AddressSource;
  /** 'found', 'none' (asked, nothing for this MAC), 'skipped' (not applicable) or 'error'. */
  result: 'found' | 'none' | 'skipped' | 'error';
  detail?: string;
}

export interface NicAddresses {
  mac: string | null;
  /** 'bridge:virbr0', 'network:default', 'user (passt)'… */
  network: string;
  addresses: FoundAddress[];
  /** passt: the host endpoints that reach the guest, e.g. '127.0.0.1:8080 → 80/tcp'. */
  endpoints?: string[];
  tried: Attempt[];
}

/** `roost ip --json` and `GET /api/vms/:name/ip`. */
export interface VmAddresses {
  name: string;
  state: VmState;
  /** The first address found (IPv4 preferred), or null. */
  ip: string | null;
  nics: NicAddresses[];
}
