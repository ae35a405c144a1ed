// The checks of a shared folder before anything is made (`roost create --mount`, `roost mount add`): the
// HOSTDIR[:GUESTDIR][:ro] syntax, the host directory resolved (symlinks followed) and refused when missing, not a
// directory, `/`, or the user's home without --mount-home; the guest directory refused when relative, hiding the
// guest's own system, or used twice. Every refusal is a UsageError (exit 2) with nothing changed.
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { guestDirProblem } from '../domain-xml/filesystems.js';
import { UsageError } from '../errors.js';
import { hasUnsafeChars, MAX_PATH_LENGTH, quoted } from './input.js';

/** One --mount as typed: HOSTDIR[:GUESTDIR][:ro|:rw]. */
export interface MountArg {
  /** As typed. */
  text: string;
  hostDir: string;
  guestDir?: string;
  readonly: boolean;
}

/** A mount that passed every check: what the domain and the seed get. */
export interface CheckedMount {
  /** The real host directory (symlinks resolved): what libvirt shares. */
  hostDir: string;
  /** The absolute path the user gave, when it is not the real one (a symlink on the way). */
  hostDirGiven?: string;
  guestDir: string;
  readonly: boolean;
}

/** At most this many shared folders per VM: each is a PCI device (and, with virtiofs, a process). */
export const MAX_MOUNTS = 16;

export function parseMountArg(text: string): MountArg {
  if (text.length === 0 || text.length > MAX_PATH_LENGTH || hasUnsafeChars(text)) {
    throw new UsageError(
      'INVALID_MOUNT',
      `invalid --mount ${quoted(text)}: HOSTDIR[:GUESTDIR][:ro] is 1–${MAX_PATH_LENGTH} characters without control characters`,
    );
  }
  const parts = text.split(':');
  let readonly = false;
  const last = parts[parts.length - 1];
  if (parts.length > 1 && (last === 'ro' || last === 'rw')) {
    readonly = last === 'ro';
    parts.pop();
  }
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new UsageError(
      'INVALID_MOUNT',
      `invalid --mount ${quoted(text)}: expected HOSTDIR[:GUESTDIR][:ro] (paths with ':' cannot be shared)`,
      { hint: 'e.g. --mount ~/src, --mount ~/src:/src, --mount ~/data:/data:ro' },
    );
  }
  return { text, hostDir: parts[0]!, guestDir: parts[1], readonly };
}

// Guest directories a mount would hide the guest's own system under (or be the whole of it).
const GUEST_SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
];
// ...and those whose every subdirectory belongs to the running system.
const GUEST_SYSTEM_TREES = ['/boot', '/dev', '/etc', '/proc', '/run', '/sys'];

/** Why the guest cannot mount a shared folder at `dir`, or undefined when it can. */
export function guestMountPointProblem(dir: string): string | undefined {
  const problem = guestDirProblem(dir);
  if (problem !== undefined) return problem;
  if (dir === '/' || GUEST_SYSTEM_DIRS.includes(dir))
    return `${dir} would hide the guest's own ${dir === '/' ? 'root' : dir}`;
  const tree = GUEST_SYSTEM_TREES.find((t) => dir.startsWith(`${t}/`));
  if (tree !== undefined) return `${dir} is inside ${tree}, which belongs to the guest's running system`;
  return undefined;
}

export interface CheckMountOptions {
  /** The user's home (refused as a whole without mountHome). */
  home: string | undefined;
  mountHome?: boolean;
  /** Where relative host paths start (default process.cwd()). */
  cwd?: string;
}

function realDirectory(arg: MountArg, cwd: string): { given: string; real: string } {
  const given = resolvePath(cwd, arg.hostDir);
  let real: string;
  try {
    real = realpathSync(given);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      'MOUNT_SOURCE_MISSING',
      `cannot share ${quoted(arg.hostDir)}: ${code === 'ENOENT' ? 'it does not exist' : `it cannot be reached (${code})`}`,
      { hint: code === 'ENOENT' ? `create it first: mkdir -p ${given}` : undefined },
    );
  }
  if (!statSync(real).isDirectory()) {
    throw new UsageError(
      'MOUNT_SOURCE_NOT_DIR',
      `cannot share ${quoted(arg.hostDir)}: it is not a directory`,
      {
        hint: 'share the directory that holds it; roost cp copies single files',
      },
    );
  }
  try {
    accessSync(real, constants.R_OK | constants.X_OK);
  } catch {
    throw new UsageError(
      'MOUNT_SOURCE_UNREADABLE',
      `cannot share ${quoted(arg.hostDir)}: you cannot read it`,
    );
  }
  return { given, real };
}

function isSameOrInside(dir: string, parent: string): boolean {
  return dir === parent || parent.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/**
 * Checks every --mount (or one `mount add`) against the host and against each other and `existing` guest
 * directories. Throws UsageError (exit 2) naming the first problem; nothing is changed.
 */
export function checkMounts(
  args: readonly string[],
  opts: CheckMountOptions,
  existing: readonly string[] = [],
): CheckedMount[] {
  if (args.length + existing.length > MAX_MOUNTS) {
    throw new UsageError('TOO_MANY_MOUNTS', `a VM can have at most ${MAX_MOUNTS} shared folders`);
  }
  const cwd = opts.cwd ?? process.cwd();
  const home = opts.home ? safeRealpath(opts.home) : undefined;
  const guestDirs = new Set(existing);
  return args.map((text) => {
    const arg = parseMountArg(text);
    const { given, real } = realDirectory(arg, cwd);
    const through = given === real ? '' : ` (${given} leads to ${real})`;
    if (real === '/') {
      throw new UsageError('MOUNT_ROOT', `refusing to share the host's root directory${through}`, {
        hint: 'share the directory you work in, e.g. --mount ~/src',
      });
    }
    if (home !== undefined && isSameOrInside(real, home) && !opts.mountHome) {
      throw new UsageError(
        'MOUNT_HOME',
        `refusing to share ${real === home ? 'your whole home directory' : `${real}, which holds your home directory`}${through} without --mount-home: the guest would reach your ssh keys, browser profiles and shell startup files`,
        {
          hint: 'share a directory inside it (--mount ~/src), or add --mount-home (and :ro, like Lima, to keep it read-only)',
        },
      );
    }
    const guestDir = arg.guestDir ?? given;
    const problem = guestMountPointProblem(guestDir);
    if (problem !== undefined) {
      throw new UsageError('INVALID_GUEST_DIR', `cannot mount ${quoted(text)} in the guest: ${problem}`, {
        hint:
          arg.guestDir === undefined
            ? `give the guest directory: --mount ${arg.hostDir}:/GUESTDIR`
            : undefined,
      });
    }
    if (guestDirs.has(guestDir)) {
      throw new UsageError(
        'DUPLICATE_GUEST_DIR',
        `two shared folders would be mounted at ${guestDir} in the guest`,
        {
          hint: 'give each its own guest directory: --mount HOSTDIR:GUESTDIR',
        },
      );
    }
    guestDirs.add(guestDir);
    return {
      hostDir: real,
      ...(given !== real ? { hostDirGiven: given } : {}),
      guestDir,
      readonly: arg.readonly,
    };
  });
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolvePath(path);
  }
}

/**
 * Whether another local user can reach `dir` (every directory on the way searchable by others). A guest with a
 * writable share can leave files there with any mode bits — a setuid program runs as its owner, the user — so
 * such a share deserves a warning.
 */
export function reachableByOthers(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    let mode: number;
    try {
      mode = statSync(d).mode;
    } catch {
      return false;
    }
    if ((mode & 0o001) === 0) return false;
    if (d === '/') return true;
  }
}

export function mountWarnings(mounts: readonly CheckedMount[]): string[] {
  return mounts.flatMap((m) => [
    ...(m.hostDirGiven !== undefined
      ? [`${m.hostDirGiven} is a symlink: the guest gets ${m.hostDir} (and only what is under it)`]
      : []),
    ...(!m.readonly && reachableByOthers(m.hostDir)
      ? [
          `${m.hostDir} is reachable by other local users and shared writable: a program the guest leaves there ` +
            `with the setuid bit would run as you for them (chmod o-x ${m.hostDir}, or share it :ro)`,
        ]
      : []),
  ]);
}
