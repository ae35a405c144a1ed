// The shapes of a VM's saved state and of what copies or starts it: `roost snapshot create|ls|revert|rm --json`,
// `roost clone --json`, `roost autostart on|off|ls --json` and the same routes under /api/vms/:name/snapshots,
// /api/vms/:name/clone, /api/vms/:name/autostart and /api/autostart (docs/cli-json.md, docs/api.md). No imports
// but its siblings: the browser uses it too.

/** internal: inside the qcow2 disk; external: overlay files (and a memory file) in roost's pool. */
export type SnapshotKind = 'internal' | 'external';

/** One snapshot as `roost snapshot ls` lists it. */
export interface SnapshotInfo {
  name: string;
  description: string | null;
  /** ISO 8601, UTC. */
  createdAt: string | null;
  /** The VM's state when the snapshot was taken: 'running', 'shutoff', 'disk-snapshot'… */
  state: string | null;
  parent: string | null;
  kind: SnapshotKind;
  /** Reverting gives back a running guest. */
  memory: boolean;
  /** The snapshot the VM was last taken at or reverted to. */
  current: boolean;
}

/** `roost snapshot ls NAME --json` and `GET /api/vms/:name/snapshots`: oldest first. */
export interface SnapshotList {
  name: string;
  current: string | null;
  snapshots: SnapshotInfo[];
}

/** `roost snapshot create --json` and `POST /api/vms/:name/snapshots`. */
export interface CreatedSnapshot extends SnapshotInfo {
  vm: string;
  /** Why this kind: roost's automatic choice, or 'asked for'. */
  kindReason: string;
  /** A disk-only snapshot of a running VM whose guest agent froze the filesystems first. */
  quiesced: boolean;
}

/** `roost snapshot revert --json` and `POST /api/vms/:name/snapshots/:snap/revert`. */
export interface RevertedSnapshot {
  vm: string;
  snapshot: string;
  /** The VM's state after the revert. */
  running: boolean;
}

/** `roost snapshot rm --json` and `DELETE /api/vms/:name/snapshots/:snap`. */
export interface RemovedSnapshot {
  vm: string;
  snapshot: string;
}

/** What `roost info` says of a VM's snapshots. */
export interface SnapshotSummary {
  count: number;
  /** The current snapshot's name; null when there is none. */
  current: string | null;
}

/** `roost clone --json` and `POST /api/vms/:name/clone`. */
export interface ClonedVm {
  name: string;
  source: string;
  uuid: string;
  linked: boolean;
  /** A clone is left shut off. */
  state: 'shutoff';
  disks: string[];
  /** Every forward of the clone, as `roost ls` shows them. */
  ports: string[];
  /** The forwards whose host port roost chose in place of the source's. */
  chosenPorts: string[];
  /** The source was running and was shut down (--stop). */
  stoppedSource: boolean;
  sshUser: string | null;
  warnings: string[];
}

/** `roost autostart on --json` and `PUT /api/vms/:name/autostart`. */
export interface AutostartEnabled {
  name: string;
  /** The systemd user unit's name and file. */
  unit: string;
  path: string;
  atBoot: boolean;
  /** The root command that turns lingering on, when atBoot asked for it and it is off; else null. */
  lingerCommand: string | null;
  warnings: string[];
}

/** `roost autostart off --json` and `DELETE /api/vms/:name/autostart`. */
export interface AutostartDisabled {
  name: string;
  /** False when the VM had no unit of roost's (off twice is not an error). */
  removed: boolean;
}

/** How systemd is doing on this host. */
export interface SystemdStatus {
  /** systemctl exists. */
  installed: boolean;
  /** systemd is PID 1. */
  running: boolean;
  /** This user's manager answers: a new unit is seen at once. */
  userManager: boolean;
  /** Lingering is on for this user: the manager (and so the VMs) start at boot. */
  linger: boolean;
}

/** `roost autostart ls --json` and `GET /api/autostart`. */
export interface AutostartList {
  /** The VMs that start at login, sorted. */
  vms: string[];
  systemd: SystemdStatus;
}
