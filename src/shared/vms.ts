// The shapes of one VM and of what the VM verbs answer: `roost ls|info|create|start|stop|edit|rm|restart|logs
// --json` and the same routes under /api/vms (docs/cli-json.md, docs/api.md). No imports but its siblings: the
// browser uses it too.
import type { CreatedMount, MountRow } from './mounts.js';
import type { SnapshotSummary } from './state.js';

/** libvirt's domain states (virDomainState), in libvirt's numbering order. */
export const VM_STATES = [
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
] as const;
export type VmState = (typeof VM_STATES)[number];

/** One VM as `roost ls --json` and `GET /api/vms` list it. */
export interface VmSummary {
  name: string;
  uuid: string;
  state: VmState;
  /** 'kvm' or 'tcg' (the domain type), or the raw type for others. */
  accel: string;
  cpus: number;
  memoryMiB: number;
  /** e.g. ['127.0.0.1:8080:80/tcp']. */
  ports: string[];
  /** 'user' (passt or slirp), 'bridge:NAME', 'network:NAME' per NIC. */
  networks: string[];
  managedBy: 'roost' | 'other';
  /** roost's systemd user unit starts it at login (`roost autostart on`); false on a remote connection. */
  autostart: boolean;
}

export interface VmDisk {
  path: string | null;
  format: string | null;
  device: string;
  target: string | null;
  readonly: boolean;
}

/** roost's metadata in a domain it created. */
export interface RoostMetadata {
  imageRef?: string;
  sshUser?: string;
  createdBy?: string;
  createdAt?: string;
}

/** One VM from its definition alone: what a `vm` event carries. */
export interface VmDetails extends VmSummary {
  id: number | null;
  disks: VmDisk[];
  boot: string;
  firmware: string;
  serialLog: string | null;
  vncSocket: string | null;
  guestAgent: boolean;
  /** roost's metadata, null for domains roost did not make. */
  roost: RoostMetadata | null;
  /** Shared folders (the persistent definition). */
  mounts: MountRow[];
}

/** Where an address was learnt, as `roost ip` names it. */
export type AddressSource =
  /** guest-network-get-interfaces, sent to the QEMU guest agent through libvirt. */
  | 'agent'
  /** virDomainInterfaceAddresses with source AGENT (libvirt asks the same agent, parsed by libvirt). */
  | 'libvirt-agent'
  /** virDomainInterfaceAddresses with source ARP (the daemon reads its own neighbour table). */
  | 'libvirt-arp'
  /** A dnsmasq lease file or a libvirt network's .status file that this user can read. */
  | 'lease-file'
  /** /proc/net/arp of the namespace roost runs in. */
  | 'arp-table';

/** `roost info --json` and `GET /api/vms/:name`: the details plus the address `roost ip` finds first. */
export interface VmInfo extends VmDetails {
  /** null when the VM is stopped, has passt NICs only, or no source knows it. */
  ip: string | null;
  ipSource: { source: AddressSource; where: string | null } | null;
  /** How many snapshots it has and which is current (`roost snapshot ls` lists them). */
  snapshots: SnapshotSummary;
}

/** `roost create --json` and `POST /api/vms`. */
export interface CreatedVm {
  name: string;
  uuid: string;
  state: 'running' | 'shutoff';
  accel: string;
  /** Why that acceleration: e.g. why KVM was not used. */
  accelReason: string;
  disk: string | null;
  ports: string[];
  /** The login user recorded for `roost ssh` (cloud images), else null. */
  sshUser: string | null;
  /** What the user should know about what was made (a forward the network can reach). */
  warnings: string[];
  /** The shared folders made (--mount), and how the guest mounts them. */
  mounts: CreatedMount[];
  /** How long `--wait` waited; null when nothing was waited for (always, over the API). */
  waitedMs: number | null;
}

/** `roost start --json` and `POST /api/vms/:name/start`. */
export interface StartedVm {
  name: string;
  alreadyRunning: boolean;
  /** How long `--wait` waited; null when nothing was waited for (always, over the API). */
  waitedMs: number | null;
}

/** `roost stop --json` and `POST /api/vms/:name/stop`. */
export interface StoppedVm {
  name: string;
  alreadyStopped: boolean;
  forced: boolean;
}

/** `roost restart --json`. */
export interface RestartedVm {
  name: string;
  restarted: true;
}

/** `roost edit --json` and `PATCH /api/vms/:name`. */
export interface EditedVm {
  name: string;
  /** What changed, in words: 'cpus 4', 'memory 4096 MiB'. */
  changed: string[];
  /** True when the VM runs: the change applies at its next start. */
  pendingRestart: boolean;
}

/** `roost rm --json` and `DELETE /api/vms/:name`. */
export interface RemovedVm {
  name: string;
  destroyed: boolean;
  deletedDisks: string[];
  keptDisks: string[];
  /** True when no VM of the name existed and only what an interrupted create left was removed. */
  leftoversOnly?: boolean;
}

/** `roost logs --json`. */
export interface VmLog {
  name: string;
  kind: 'serial' | 'qemu';
  path: string;
  /** The whole log. */
  text: string;
}

/** `roost logs --path --json`. */
export interface VmLogPath {
  path: string;
}

/** `roost ssh --print --json`: the ssh command roost would run. */
export interface SshCommand {
  argv: string[];
}

/** A VM's row of a list from anything that has it (a `vm` event's details): exactly VmSummary's fields. */
export function summaryOf(vm: VmSummary): VmSummary {
  const { name, uuid, state, accel, cpus, memoryMiB, ports, networks, managedBy, autostart } = vm;
  return { name, uuid, state, accel, cpus, memoryMiB, ports, networks, managedBy, autostart };
}
