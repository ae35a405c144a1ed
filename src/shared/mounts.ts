// The shapes of a VM's shared folders: `roost mount ls --json` and the `mounts` of `roost info --json` and
// GET /api/vms/:name (docs/cli-json.md, docs/api.md, docs/files.md). No imports: the browser uses it too.

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

/** `roost mount ls --json`. */
export interface MountList {
  name: string;
  running: boolean;
  mounts: MountRow[];
}

/** `roost mount add|rm --json`: the shared folder added or removed, and when the VM gets the change. */
export interface MountChangeResult {
  name: string;
  mount: MountRow;
  /** 'stopped': the next start has it; 'next-start': the running VM keeps its old set until it is restarted. */
  applied: 'stopped' | 'next-start';
  /** Why a running VM does not get the change now. */
  reason?: string;
  /** How to mount it in the guest by hand (add). */
  guestCommand?: string;
  warnings: string[];
}

/** A shared folder `roost create --mount` made (the `mounts` of `roost create --json`). */
export interface CreatedMount {
  tag: string;
  type: '9p' | 'virtiofs';
  hostDir: string;
  guestDir: string;
  mode: 'ro' | 'rw';
  /** The seed mounts it at every boot (a cloud image); false: mount it by hand (guestCommand). */
  bySeed: boolean;
  /** The one line that mounts it in a Linux guest by hand. */
  guestCommand: string;
}
