// Shared folders: `roost create --mount HOSTDIR[:GUESTDIR][:ro]` and `roost mount ls|add|rm`.
//
// A mount is a `<filesystem>` device in the domain (domain-xml/filesystems.ts), so virsh and virt-manager see and
// edit it too; roost's metadata adds what the device cannot hold: the directory the guest mounts it on.
//  - virtiofs when the host has a virtiofsd and libvirt ≥ 10.0 (the first to run it for the session connection,
//    mapping the guest's root to the user); 9p otherwise, served by QEMU itself as the user.
//  - Every host directory is resolved (symlinks followed) before it is checked and handed to libvirt: the guest
//    gets exactly the tree under the real directory. Neither 9p (QEMU opens each path component without
//    following symlinks) nor virtiofsd lets the guest follow a symlink out of it.
//  - Refused, with nothing changed: a directory that is missing or not a directory, `/`, the user's home (or a
//    directory holding it) without --mount-home, a guest path that is relative, would hide the guest's own
//    system (/etc, /usr…), or is used twice.
//  - libvirt cannot hot-plug a 9p device, and a virtiofs one needs shared memory from boot: `mount add` and
//    `mount rm` change the definition and apply at the next start.
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { addFilesystem, removeFilesystem, setRoostMetadata } from '../domain-xml/edit.js';
import { guestDirProblem, type ParsedFilesystem } from '../domain-xml/filesystems.js';
import { parseDomainXml, type ParsedDomain } from '../domain-xml/parse.js';
import type { FilesystemSpec, FilesystemType, MountMetadata } from '../domain-xml/spec.js';
import { RoostError, UsageError } from '../errors.js';
import type { MountList, MountRow } from '../shared/api-types.js';
import {
  findVirtiofsd,
  sharedFolderSupport,
  VIRTIOFSD_SOURCES,
  type SharedFolderSupport,
} from '../host/checks/shared-folders.js';
import type { VmContext } from './context.js';
import { hasUnsafeChars, MAX_PATH_LENGTH, quoted } from './input.js';
import { lookupVm, readVm } from './lookup.js';

export type { MountList, MountRow } from '../shared/api-types.js';

export type MountTypeChoice = 'auto' | FilesystemType;

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

/** A mount as the guest needs it: its tag, where it goes, how. */
export interface GuestMount {
  tag: string;
  guestDir: string;
  type: FilesystemType;
  readonly: boolean;
}

/** At most this many shared folders per VM: each is a PCI device (and, with virtiofs, a process). */
export const MAX_MOUNTS = 16;

/** 9p's payload size per message: the most virtio's transport takes; the default (8 KiB on older kernels) is slow. */
export const NINEP_MSIZE = 512000;

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

// --- which type ------------------------------------------------------------------------------------------------

export type MountSupport = SharedFolderSupport;

export const VIRTIOFS_HINT = `use 9p (leave out --mount-type, or --mount-type 9p); for virtiofs: ${VIRTIOFSD_SOURCES}`;

/** The type to use (with the facts it came from); a forced virtiofs the host cannot run is an error. */
export function chooseMountType(
  want: MountTypeChoice,
  support: MountSupport,
): MountSupport & { chosen: FilesystemType } {
  return { ...support, chosen: pickType(want, support) };
}

function pickType(want: MountTypeChoice, support: MountSupport): FilesystemType {
  if (want === 'auto' || want === '9p') return want === '9p' ? '9p' : support.best;
  if (want === 'virtiofs') {
    if (support.virtiofsProblem !== undefined) {
      throw new RoostError(
        'VIRTIOFS_UNAVAILABLE',
        `--mount-type virtiofs is not possible here: ${support.virtiofsProblem}`,
        {
          hint: VIRTIOFS_HINT,
        },
      );
    }
    return 'virtiofs';
  }
  throw new UsageError(
    'INVALID_MOUNT_TYPE',
    `--mount-type must be virtiofs or 9p, not ${quoted(String(want))}`,
  );
}

/** What this host gives, asked of the daemon and the file system. */
export async function hostMountSupport(ctx: VmContext): Promise<MountSupport> {
  return sharedFolderSupport(Number(await ctx.client.libVersion()), findVirtiofsd(ctx.env));
}

// --- tags, devices, metadata -----------------------------------------------------------------------------------

/** The first `count` free tags roost0, roost1… (short: 9p allows 31 bytes; stable: the guest's fstab names them). */
export function assignTags(count: number, taken: Iterable<string>): string[] {
  const used = new Set(taken);
  const tags: string[] = [];
  for (let i = 0; tags.length < count; i++) {
    const tag = `roost${i}`;
    if (!used.has(tag)) tags.push(tag);
  }
  return tags;
}

export function filesystemSpec(
  m: CheckedMount,
  tag: string,
  type: FilesystemType,
  support: MountSupport,
): FilesystemSpec {
  return {
    type,
    source: m.hostDir,
    tag,
    ...(m.readonly ? { readonly: true } : {}),
    ...(type === 'virtiofs' && support.virtiofsd !== undefined ? { binary: support.virtiofsd } : {}),
  };
}

export function mountMetadata(m: CheckedMount, tag: string): MountMetadata {
  return {
    tag,
    guestDir: m.guestDir,
    ...(m.hostDirGiven !== undefined ? { hostDirGiven: m.hostDirGiven } : {}),
  };
}

/** The shared folders of a new VM: devices, metadata and what the guest mounts. */
export interface MountPlan {
  type: FilesystemType;
  filesystems: FilesystemSpec[];
  metadata: MountMetadata[];
  guest: GuestMount[];
}

export function planMounts(
  mounts: readonly CheckedMount[],
  support: MountSupport & { chosen: FilesystemType },
): MountPlan {
  const tags = assignTags(mounts.length, []);
  const type = support.chosen;
  return {
    type,
    filesystems: mounts.map((m, i) => filesystemSpec(m, tags[i]!, type, support)),
    metadata: mounts.map((m, i) => mountMetadata(m, tags[i]!)),
    guest: mounts.map((m, i) => ({ tag: tags[i]!, guestDir: m.guestDir, type, readonly: m.readonly })),
  };
}

/** The mount(8) options for a shared folder in a Linux guest. */
export function guestMountOptions(type: FilesystemType, readonly: boolean): string {
  const base = type === '9p' ? `trans=virtio,version=9p2000.L,msize=${NINEP_MSIZE}` : 'defaults';
  return readonly ? `${base},ro` : base;
}

/** The one line that mounts it in a guest by hand (guests without cloud-init). */
export function guestMountCommand(m: Pick<GuestMount, 'tag' | 'guestDir' | 'type' | 'readonly'>): string {
  return `mkdir -p ${m.guestDir} && mount -t ${m.type} -o ${guestMountOptions(m.type, m.readonly)} ${m.tag} ${m.guestDir}`;
}

// --- listing ---------------------------------------------------------------------------------------------------

function rowOf(fs: ParsedFilesystem, meta: MountMetadata | undefined): MountRow {
  return {
    tag: fs.tag ?? '',
    type: fs.type,
    hostDir: fs.source ?? '',
    hostDirGiven: meta?.hostDirGiven ?? null,
    guestDir: meta?.guestDir ?? null,
    mode: fs.readonly ? 'ro' : 'rw',
    accessmode: fs.accessmode,
    state: 'configured',
  };
}

/** The shared folders of a parsed domain, with the guest directories roost recorded. */
export function mountRows(parsed: ParsedDomain): MountRow[] {
  const meta = parsed.roost?.mounts ?? [];
  return parsed.filesystems.map((fs) =>
    rowOf(
      fs,
      meta.find((m) => m.tag === fs.tag),
    ),
  );
}

/** `mount ls`: the persistent shared folders; on a running VM, compared with what it runs with. */
export function listMounts(ctx: VmContext, name: string): Promise<MountList> {
  return readVm(ctx, name, async (dom) => {
    const persistent = mountRows(parseDomainXml(await ctx.client.getXml(dom, INACTIVE_XML)));
    const running = await ctx.client.isActive(dom);
    if (!running) return { name, running, mounts: persistent };
    const live = mountRows(parseDomainXml(await ctx.client.getXml(dom, 0)));
    const same = (a: MountRow, b: MountRow) =>
      a.tag === b.tag && a.hostDir === b.hostDir && a.mode === b.mode;
    return {
      name,
      running,
      mounts: [
        ...persistent.map(
          (m) => ({ ...m, state: live.some((l) => same(l, m)) ? 'active' : 'next-start' }) as MountRow,
        ),
        ...live
          .filter((l) => !persistent.some((m) => same(l, m)))
          .map((l) => ({ ...l, state: 'removed-at-next-start' }) as MountRow),
      ],
    };
  });
}

// --- add and remove --------------------------------------------------------------------------------------------

const INACTIVE_XML = 2;
const SECURE_XML = 1;
const VALIDATE = 1;

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

export interface AddMountOptions {
  type?: MountTypeChoice;
  mountHome?: boolean;
  cwd?: string;
}

function notLiveReason(type: string): string {
  return type === '9p'
    ? 'libvirt cannot hot-plug a 9p filesystem'
    : 'a virtiofs filesystem needs the shared memory the VM was started with';
}

/** `mount add NAME HOSTDIR[:GUESTDIR][:ro]`: a new shared folder in the VM's definition. */
export async function addMount(
  ctx: VmContext,
  name: string,
  arg: string,
  opts: AddMountOptions = {},
): Promise<MountChangeResult> {
  const dom = await lookupVm(ctx, name);
  const xml = await ctx.client.getXml(dom, INACTIVE_XML | SECURE_XML);
  const parsed = parseDomainXml(xml);
  const rows = mountRows(parsed);
  const [checked] = checkMounts(
    [arg],
    { home: ctx.env.HOME, mountHome: opts.mountHome, cwd: opts.cwd },
    rows.flatMap((r) => (r.guestDir === null ? [] : [r.guestDir])),
  );
  const mount = checked!;
  const support = chooseMountType(opts.type ?? 'auto', await hostMountSupport(ctx));
  const type = support.chosen;
  const [tag] = assignTags(
    1,
    rows.map((r) => r.tag),
  );
  let next = addFilesystem(xml, filesystemSpec(mount, tag!, type, support));
  // A domain roost did not make gets the device only: roost's metadata would claim it.
  const meta = parsed.roost;
  if (meta !== undefined) {
    next = setRoostMetadata(next, {
      ...withoutRefused(meta),
      mounts: [...(meta.mounts ?? []), mountMetadata(mount, tag!)],
    });
  }
  await ctx.client.defineDomain(next, VALIDATE);
  const running = await ctx.client.isActive(dom);
  const row = mountRows(parseDomainXml(next)).find((r) => r.tag === tag)!;
  return {
    name,
    mount: row,
    applied: running ? 'next-start' : 'stopped',
    ...(running ? { reason: notLiveReason(type) } : {}),
    guestCommand: guestMountCommand({ tag: tag!, guestDir: mount.guestDir, type, readonly: mount.readonly }),
    warnings: mountWarnings([mount]),
  };
}

function withoutRefused<T extends { refused?: unknown }>(meta: T): Omit<T, 'refused'> {
  const { refused: _refused, ...rest } = meta;
  return rest;
}

/** `mount rm NAME TAG|GUESTDIR|HOSTDIR`: takes a shared folder out of the VM's definition. */
export async function removeMount(ctx: VmContext, name: string, which: string): Promise<MountChangeResult> {
  if (which.length === 0 || which.length > MAX_PATH_LENGTH || hasUnsafeChars(which)) {
    throw new UsageError(
      'INVALID_MOUNT',
      `invalid shared folder ${quoted(which)}: give its tag, guest or host directory`,
    );
  }
  const dom = await lookupVm(ctx, name);
  const xml = await ctx.client.getXml(dom, INACTIVE_XML | SECURE_XML);
  const parsed = parseDomainXml(xml);
  const rows = mountRows(parsed);
  const matches = rows.filter(
    (r) => r.tag === which || r.guestDir === which || r.hostDir === which || r.hostDirGiven === which,
  );
  if (matches.length !== 1) {
    throw new UsageError(
      matches.length === 0 ? 'MOUNT_NOT_FOUND' : 'MOUNT_AMBIGUOUS',
      matches.length === 0
        ? `VM ${quoted(name)} has no shared folder ${quoted(which)}`
        : `${quoted(which)} names ${matches.length} shared folders of VM ${quoted(name)}: give the tag`,
      { hint: `list them with: roost mount ls ${name}` },
    );
  }
  const row = matches[0]!;
  let next = removeFilesystem(xml, row.tag);
  if (parsed.roost !== undefined) {
    const mounts = (parsed.roost.mounts ?? []).filter((m) => m.tag !== row.tag);
    next = setRoostMetadata(next, {
      ...withoutRefused(parsed.roost),
      mounts: mounts.length ? mounts : undefined,
    });
  }
  await ctx.client.defineDomain(next, VALIDATE);
  const running = await ctx.client.isActive(dom);
  return {
    name,
    mount: row,
    applied: running ? 'next-start' : 'stopped',
    ...(running ? { reason: notLiveReason(row.type) } : {}),
    warnings: [],
  };
}
