// Shared folders (roost create --mount): which type this host gives. virtiofs needs a virtiofsd program and
// libvirt ≥ 10.0, the first to run it for the session connection (unprivileged, with the guest's root mapped to
// the user and the other guest ids to the user's /etc/subuid range); 9p needs nothing but QEMU, which serves the
// directory itself.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import type { CheckResult } from './types.js';

export type SharedFolderType = '9p' | 'virtiofs';

/** libvirt 10.0 is the first to run virtiofsd for the session connection. */
export const VIRTIOFS_SESSION_SINCE = 10_000_000;

/** Where distributions put virtiofsd (Debian 13, Ubuntu, Fedora; older QEMU packages' C version). */
export const VIRTIOFSD_PATHS = ['/usr/libexec/virtiofsd', '/usr/lib/qemu/virtiofsd'];

/** Where a virtiofsd comes from when the host has none (Debian 12 has no package, not even in backports). */
export const VIRTIOFSD_SOURCES =
  "Debian 13 and Ubuntu 24.04 ship the 'virtiofsd' package; Debian 12 has none: build the Rust crate " +
  '(cargo install virtiofsd, with libcap-ng-dev and libseccomp-dev and a current Rust from rustup) and install ' +
  'the binary as /usr/libexec/virtiofsd';

/** The virtiofsd program on this host: the usual places, then PATH; undefined when there is none. */
export function findVirtiofsd(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? '').split(':').filter((d) => d.startsWith('/'));
  for (const path of [...VIRTIOFSD_PATHS, ...dirs.map((d) => `${d}/virtiofsd`)]) {
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function formatLibVersion(v: number): string {
  return `${Math.floor(v / 1_000_000)}.${Math.floor(v / 1000) % 1000}.${v % 1000}`;
}

export interface SharedFolderSupport {
  /** What roost uses when not told. */
  best: SharedFolderType;
  virtiofsd: string | undefined;
  /** Why virtiofs cannot be used, when it cannot. */
  virtiofsProblem?: string;
}

/** Which type this host gives, from libvirt's version and the virtiofsd found. */
export function sharedFolderSupport(libVersion: number, virtiofsd: string | undefined): SharedFolderSupport {
  let problem: string | undefined;
  if (virtiofsd === undefined) {
    problem = `no virtiofsd on this host (looked in ${VIRTIOFSD_PATHS.join(', ')} and PATH)`;
  } else if (libVersion < VIRTIOFS_SESSION_SINCE) {
    problem = `libvirt ${formatLibVersion(libVersion)} cannot run virtiofsd for the session connection (needs 10.0 or later)`;
  }
  return problem === undefined
    ? { best: 'virtiofs', virtiofsd }
    : { best: '9p', virtiofsd, virtiofsProblem: problem };
}

/** Whether /etc/subuid gives `user` a range (libvirt maps the guest's non-root ids into it for virtiofsd). */
export function hasSubuidRange(
  user: string,
  uid: number,
  read = () => readFileSync('/etc/subuid', 'utf8'),
): boolean {
  let text: string;
  try {
    text = read();
  } catch {
    return false;
  }
  return text.split('\n').some((line) => {
    const owner = line.split(':')[0];
    return owner === user || owner === String(uid);
  });
}

/** The doctor line: which type `--mount` gives here, and how to get virtiofs when it is 9p. */
export function sharedFoldersCheck(
  libVersion: number | null,
  virtiofsd: string | undefined,
  subuid: boolean,
): CheckResult {
  const base = { id: 'shared-folders', title: 'shared folders (--mount)' };
  if (libVersion === null) {
    return {
      ...base,
      status: 'warn',
      detail: `cannot tell without the daemon's version; virtiofsd: ${virtiofsd ?? 'none'} (9p needs nothing more)`,
    };
  }
  const support = sharedFolderSupport(libVersion, virtiofsd);
  if (support.best === 'virtiofs') {
    return {
      ...base,
      status: subuid ? 'ok' : 'warn',
      detail:
        `virtiofs (${virtiofsd}, libvirt ${formatLibVersion(libVersion)})` +
        (subuid
          ? ''
          : "; your user has no /etc/subuid range, which libvirt maps the guest's other users into: only files " +
            "of the guest's root map to you (--mount-type 9p avoids it)"),
    };
  }
  return {
    ...base,
    status: 'ok',
    detail: `9p (virtio-9p, served by QEMU as you); virtiofs is faster but ${support.virtiofsProblem}. ${VIRTIOFSD_SOURCES}`,
  };
}
