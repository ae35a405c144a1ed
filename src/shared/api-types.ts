// The shapes roost's API speaks — `--json` output, the REST API, the event stream — in one leaf module with no
// imports, so that the Node side (src/vm) and the browser (web/) use the very same contract and cannot drift.

export type VmState =
  'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended';

/** One VM as `roost ls --json` prints it (stable shape, docs/cli-json.md). */
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
}

export interface VmDetails extends VmSummary {
  id: number | null;
  disks: {
    path: string | null;
    format: string | null;
    device: string;
    target: string | null;
    readonly: boolean;
  }[];
  boot: string;
  firmware: string;
  serialLog: string | null;
  vncSocket: string | null;
  guestAgent: boolean;
  /** roost's metadata, absent for domains roost did not make. */
  roost: { imageRef?: string; sshUser?: string; createdBy?: string; createdAt?: string } | null;
  /** Shared folders (the persistent definition). */
  mounts: MountRow[];
}

/** One shared folder of a VM (`roost mount ls`, `roost info`). */
export interface MountRow {
  /** The mount tag the guest mounts it by. */
  tag: string;
  /** '9p' or 'virtiofs' (or another `<filesystem>` type a hand-made domain has). */
  type: string;
  /** The real host directory libvirt shares. */
  hostDir: string;
  /** The path the user gave, when a symlink led from it to hostDir. */
  hostDirGiven: string | null;
  /** Where the guest mounts it; null when roost did not record it (a domain made elsewhere). */
  guestDir: string | null;
  mode: 'ro' | 'rw';
  /** libvirt's accessmode: squash for roost's 9p, passthrough for virtiofs. */
  accessmode: string;
  /** On a running VM: whether it runs with it; 'configured' for a VM that is not running. */
  state: 'active' | 'next-start' | 'removed-at-next-start' | 'configured';
}

export interface MountList {
  name: string;
  running: boolean;
  mounts: MountRow[];
}

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

export interface PortList {
  name: string;
  running: boolean;
  /** MAC of the passt NIC the forwards belong to; null when the VM has none. */
  mac: string | null;
  ports: PortRow[];
}

export type LifecycleName =
  | 'defined'
  | 'undefined'
  | 'started'
  | 'suspended'
  | 'resumed'
  | 'stopped'
  | 'shutdown'
  | 'pmsuspended'
  | 'crashed';

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

/** Events roost itself raises (the daemon knows nothing of them). */
export type RoostOwnEvent =
  | { type: 'create'; name: string; phase: string; time: number }
  | { type: 'ports'; name: string; ports: string[]; time: number }
  | {
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
  | { type: 'resync'; reason: string; time: number };

export type RoostEvent = VmLifecycleEvent | RoostOwnEvent;
