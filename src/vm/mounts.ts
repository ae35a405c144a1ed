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
import type { SeedMount } from '../cloud-init/mounts.js';
import { addFilesystem, removeFilesystem, setRoostMetadata } from '../domain-xml/edit.js';
import { parseDomainXml } from '../domain-xml/parse.js';
import type { FilesystemSpec, FilesystemType, MountMetadata } from '../domain-xml/spec.js';
import { RoostError, UsageError } from '../errors.js';
import type { ImageEntry } from '../images/types.js';
import {
  findVirtiofsd,
  sharedFolderSupport,
  VIRTIOFSD_SOURCES,
  type SharedFolderSupport,
} from '../host/checks/shared-folders.js';
import { DomainDefineFlags, DomainXmlFlags } from '../libvirt/types.js';
import type { MountChangeResult, MountList, MountRow } from '../shared/mounts.js';
import type { VmContext } from './context.js';
import { hasUnsafeChars, MAX_PATH_LENGTH, quoted } from './input.js';
import { lookupVm, readVm } from './lookup.js';
import { checkMounts, mountWarnings, type CheckedMount } from './mount-check.js';
import { mountRows } from './mount-rows.js';

export type { MountChangeResult, MountList, MountRow } from '../shared/mounts.js';
export { mountRows } from './mount-rows.js';
export {
  checkMounts,
  guestMountPointProblem,
  MAX_MOUNTS,
  mountWarnings,
  parseMountArg,
  reachableByOthers,
  type CheckedMount,
  type CheckMountOptions,
  type MountArg,
} from './mount-check.js';

export type MountTypeChoice = 'auto' | FilesystemType;

/** A mount as the guest needs it: its tag, where it goes, how. */
export interface GuestMount {
  tag: string;
  guestDir: string;
  type: FilesystemType;
  readonly: boolean;
}

/** 9p's payload size per message: the most virtio's transport takes; the default (8 KiB on older kernels) is slow. */
export const NINEP_MSIZE = 512000;

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

/**
 * Why a catalogue image's kernel cannot mount 9p, or undefined when it can (as far as roost knows): Debian's
 * genericcloud images run its cloud kernel flavour, built without 9p (CONFIG_NET_9P unset) but with virtiofs; Red
 * Hat's kernels, and so those of CentOS Stream, AlmaLinux and Rocky, leave 9p out.
 */
export function kernelWithout9p(entry: Pick<ImageEntry, 'name' | 'url'>): string | undefined {
  if (entry.url?.includes('-genericcloud-')) {
    return `${entry.name} is Debian's genericcloud image, whose kernel (linux-image-cloud-amd64) has virtiofs but no 9p`;
  }
  if (/^(rhel|centos-stream|almalinux|rocky)-/.test(entry.name)) {
    return `${entry.name} runs a Red Hat kernel, which has virtiofs but no 9p`;
  }
  return undefined;
}

/** create's warning when the folders are 9p and the image's kernel cannot mount them. */
export function no9pWarning(entry: Pick<ImageEntry, 'name' | 'url'>): string[] {
  const why = kernelWithout9p(entry);
  if (why === undefined) return [];
  return [
    `${why}: the guest cannot mount these 9p shared folders (it boots without them). Use a host with ` +
      'virtiofsd (roost doctor says where one comes from), or an image whose kernel has 9p, e.g. ubuntu-24.04, ' +
      'fedora-44 or a Debian generic (not genericcloud) image',
  ];
}

/** The mount(8) options for a shared folder in a Linux guest. */
export function guestMountOptions(type: FilesystemType, readonly: boolean): string {
  const base = type === '9p' ? `trans=virtio,version=9p2000.L,msize=${NINEP_MSIZE}` : 'defaults';
  return readonly ? `${base},ro` : base;
}

/**
 * The shared folders for the seed, and the login user's uid: the host user's own where it is an ordinary one
 * (1000–59999), so files in a shared folder belong to the same uid on both sides. A system uid (below 1000) could
 * clash with one of the image's own system users, so the image's default stays then.
 */
export function seedMounts(
  shares: MountPlan,
  uid = process.getuid?.(),
): { mounts: SeedMount[]; uid?: number } {
  const mounts = shares.guest.map((g) => ({
    tag: g.tag,
    guestDir: g.guestDir,
    type: g.type,
    options: guestMountOptions(g.type, g.readonly),
  }));
  return uid !== undefined && uid >= 1000 && uid < 60000 ? { mounts, uid } : { mounts };
}

/** The one line that mounts it in a guest by hand (guests without cloud-init). */
export function guestMountCommand(m: Pick<GuestMount, 'tag' | 'guestDir' | 'type' | 'readonly'>): string {
  return `mkdir -p ${m.guestDir} && mount -t ${m.type} -o ${guestMountOptions(m.type, m.readonly)} ${m.tag} ${m.guestDir}`;
}

// --- listing ---------------------------------------------------------------------------------------------------

/** `mount ls`: the persistent shared folders; on a running VM, compared with what it runs with. */
export function listMounts(ctx: VmContext, name: string): Promise<MountList> {
  return readVm(ctx, name, async (dom) => {
    const persistent = mountRows(parseDomainXml(await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE)));
    const running = await ctx.client.isActive(dom);
    if (!running) return { name, running, mounts: persistent };
    const live = mountRows(parseDomainXml(await ctx.client.getXml(dom)));
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
  const xml = await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE | DomainXmlFlags.SECURE);
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
  await ctx.client.defineDomain(next, DomainDefineFlags.VALIDATE);
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
  const xml = await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE | DomainXmlFlags.SECURE);
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
  await ctx.client.defineDomain(next, DomainDefineFlags.VALIDATE);
  const running = await ctx.client.isActive(dom);
  return {
    name,
    mount: row,
    applied: running ? 'next-start' : 'stopped',
    ...(running ? { reason: notLiveReason(row.type) } : {}),
    warnings: [],
  };
}
