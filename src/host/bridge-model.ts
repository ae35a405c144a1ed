// What `roost host bridge-setup` is asked for and what it computes its plan from: the request and its check,
// the host facts, the steps and their root commands, and the paths roost owns on the host.
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { DEFAULT_BRIDGE, type BridgeConfFacts, type FileFacts } from './checks/bridge.js';

export interface RootCommand {
  argv: string[];
  /** Written to the command's stdin (file contents for tee). */
  input?: string;
}

export interface SetupStep {
  id: 'ip-forward' | 'default-network' | 'bridge' | 'dhcp' | 'bridge-conf' | 'helper-setuid' | 'tun-device';
  title: string;
  done: boolean;
  /** What it is for, and what is missing. */
  detail: string;
  commands: RootCommand[];
  /** Set when roost will not do this step: why, and what to do instead (the commands are then empty). */
  refused?: string;
}

export interface BridgeSetupRequest {
  /** Default virbr0. */
  bridge?: string;
  /** Give this user (and only them) the bridge; needs a bridge other than virbr0. */
  user?: string;
  /** First three octets of the bridge's /24 (own bridge only); default derived from the bridge name. */
  subnet?: string;
}

export interface UserFacts {
  name: string;
  uid: number;
  gid: number;
  /** Why the primary group is not the user's alone (undefined: it is); see groupSharing. */
  groupShared?: string;
}

/** Owner and mode of an ACL file (undefined when missing or not stat-able). */
export interface AclFileFacts {
  uid: number;
  gid: number;
  mode: number;
}

/** What the plan is computed from; everything readable without root. */
export interface HostFacts {
  ipForward: string | null;
  helper: FileFacts | undefined;
  bridgeConf: BridgeConfFacts | null;
  /** Text of included ACL files we could read, by path (null: exists but unreadable to us). */
  includes: Record<string, string | null>;
  bridgeExists: boolean;
  defaultNetworkDefined: boolean;
  defaultNetworkAutostart: boolean;
  /** dnsmasq for the own bridge: its pid file names a live process. */
  dhcpRunning: boolean;
  /** st_mode of /dev/net/tun; null when it does not exist. */
  tunMode: number | null;
  user?: UserFacts;
  /** Owner and mode of the user's ACL file (with --user). */
  userAcl?: AclFileFacts;
  /** setfacl is installed (needed when the user's group is shared). */
  setfacl?: boolean;
}

export const ROOST_STATE_DIR = '/var/lib/roost';

const BRIDGE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function userAclFile(user: string): string {
  return `/etc/qemu/roost-${user}.conf`;
}

export function dhcpPidFile(bridge: string): string {
  return `/run/roost-${bridge}-dnsmasq.pid`;
}

export function leaseFileOf(bridge: string): string {
  return `${ROOST_STATE_DIR}/${bridge}.leases`;
}

/** A /24 in 10.77–10.126 picked from the bridge name, so two bridges rarely collide and reruns agree. */
export function defaultSubnet(bridge: string): string {
  const h = createHash('sha256').update(bridge).digest();
  return `10.${77 + (h[0]! % 50)}.${h[1]! % 250}`;
}

/** A request after checkRequest: the bridge is named. */
export type CheckedRequest = BridgeSetupRequest & { bridge: string };

export function checkRequest(req: BridgeSetupRequest): CheckedRequest {
  const bridge = req.bridge ?? DEFAULT_BRIDGE;
  if (!BRIDGE_NAME.test(bridge)) {
    throw new UsageError(
      'INVALID_BRIDGE',
      `invalid bridge name '${bridge}': up to 15 of letters, digits, . _ -`,
    );
  }
  if (req.user !== undefined && bridge === DEFAULT_BRIDGE) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `--user gives one user a bridge of their own: name it with --bridge (virbr0 is libvirt's shared bridge)`,
      { hint: `e.g. roost host bridge-setup --bridge br-${req.user} --user ${req.user}` },
    );
  }
  if (req.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(req.user)) {
    throw new UsageError('INVALID_USER', `invalid user name '${req.user}'`);
  }
  if (req.subnet !== undefined && !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(req.subnet)) {
    throw new UsageError(
      'INVALID_SUBNET',
      `invalid --subnet '${req.subnet}': give three octets, e.g. 10.77.3`,
    );
  }
  if (req.subnet !== undefined && req.subnet.split('.').some((o) => Number(o) > 255)) {
    throw new UsageError('INVALID_SUBNET', `invalid --subnet '${req.subnet}': octets go up to 255`);
  }
  return { ...req, bridge };
}
