// The shapes of the host side: `roost doctor|connection|host bridge-setup|image … --json` and /api/doctor,
// /api/connection, /api/images (docs/cli-json.md, docs/api.md, docs/doctor.md). No imports: the browser uses it.

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One host check of `roost doctor`. */
export interface CheckResult {
  /** Stable identifier, e.g. 'libvirt-passt'. */
  id: string;
  /** What is checked, for humans: 'libvirt accepts passt'. */
  title: string;
  /** ok = fine; warn = works, but something is missing or slow (optional features); fail = roost cannot work. */
  status: CheckStatus;
  /** One line: what was found, and why it matters when it is not ok. */
  detail: string;
  /** The exact shell command(s) that fix it, one per line, run in order; only on warn/fail with a known fix. */
  fix?: string;
}

/** `roost doctor --json` and `GET /api/doctor`. */
export interface DoctorReport {
  checks: CheckResult[];
  /** True when no check failed (warnings allowed). */
  ok: boolean;
}

/** `roost connection --json` and `GET /api/connection`. */
export interface ConnectionInfo {
  /** The version of roost that answers. */
  roostVersion: string;
  uri: string;
  /** The URI the daemon says it serves. */
  daemonUri: string;
  scope: 'session' | 'system';
  transport: 'unix' | 'ssh';
  socket: string | null;
  hostname: string;
  libvirtVersion: string;
  qemuVersion: string;
  /** What this connection cannot do that the other one can. */
  limits: string[];
}

/** One image of `roost image ls --json` and `GET /api/images`: the catalogue and the cache. */
export interface ImageListing {
  name: string;
  aliases: string[];
  os: string;
  user: string;
  firmware: 'uefi' | 'bios';
  origin: 'builtin' | 'config' | 'import';
  /** No download URL: only `roost image import` can provide it. */
  importOnly: boolean;
  cached: boolean;
  path?: string;
  /** Bytes on disk of the cached file. */
  size?: number;
  virtualSize?: number;
  url?: string;
  /** What a VM from it gets at least (create raises --disk and --memory defaults to these). */
  minDiskGiB?: number;
  minMemoryMiB?: number;
  /** Where the download is verified from: 'sha256 from URL' or 'sha512 (digest in the entry)'. */
  checksum?: string;
  notes?: string;
}

/** `roost image rm --json` and `DELETE /api/images/:ref`. */
export interface RemovedImage {
  name: string;
  /** The files deleted. */
  removed: string[];
}

/** `POST /api/images/pull`: the download has started; its progress comes as `image` events. */
export interface PullStarted {
  ref: string;
  pulling: true;
}

/** One command of a bridge-setup step, run as root. */
export interface BridgeSetupCommand {
  argv: string[];
  /** Written to the command's stdin (file contents for tee). */
  input?: string;
}

/** `roost host bridge-setup --json`. */
export interface BridgeSetupReport {
  bridge: string;
  user: string | null;
  steps: {
    id: string;
    title: string;
    done: boolean;
    detail: string;
    commands: BridgeSetupCommand[];
    /** Why roost will not do this step, and what to do instead. */
    refused?: string;
  }[];
  /** The commands run by --apply. */
  applied: string[][];
}
