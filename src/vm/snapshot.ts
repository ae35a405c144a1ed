// roost snapshot create|ls|revert|rm: a VM's saved states, through libvirt's snapshot API.
//
// Two kinds, chosen per VM:
// - internal (inside the qcow2 disk, memory too when running): the simple kind, for VMs without UEFI NVRAM whose
//   writable disks are all qcow2. libvirt refuses internal snapshots of a VM with pflash firmware (roost's UEFI
//   default), and of a running VM without memory (--disk-only).
// - external (a new overlay per disk and, for a running VM, a memory file): everything else. libvirt (≥ 9.9)
//   reverts and deletes these too. roost puts their files in its own pool, named VM.SNAP.TARGET.qcow2 and
//   VM.SNAP.mem, so virsh and virt-manager see them and `roost rm` finds and removes them.
// A VM keeps the kind of its first snapshot: libvirt does not mix them well in one chain.
import { parseDomainXml, type ParsedDomain } from '../domain-xml/parse.js';
import {
  buildSnapshotXml,
  parseSnapshotXml,
  type ParsedSnapshot,
  type SnapshotKind,
} from '../domain-xml/snapshot-xml.js';
import { NotFoundError, RoostError, UsageError } from '../errors.js';
import { isNotFound, LibvirtError } from '../libvirt/errors.js';
import {
  DomainSnapshotCreateFlags as CREATE,
  DomainSnapshotRevertFlags as REVERT,
  DomainXmlFlags,
  type Domain,
  type DomainSnapshot,
} from '../libvirt/types.js';
import type { VmContext } from './context.js';
import { quoted } from './input.js';
import { lookupVm } from './lookup.js';
import { ensurePool, poolVolumesAmong } from './storage.js';
import {
  busy,
  explainSnapshotFailure,
  isAgentMissing,
  isBusy,
  refuseSharedFolders,
  sharedFolders,
} from './snapshot-checks.js';
import { orderSnapshots } from './snapshot-order.js';

/** Snapshot names become file names in roost's pool: the same rule as VM names. */
export const SNAPSHOT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkSnapshotName(name: string): string {
  if (!SNAPSHOT_NAME_PATTERN.test(name)) {
    throw new UsageError(
      'INVALID_SNAPSHOT_NAME',
      `invalid snapshot name ${quoted(name)}: use 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { hint: 'for example: roost snapshot create web before-upgrade' },
    );
  }
  return name;
}

/** A name for a snapshot the user did not name: when it was taken, in UTC, sortable. */
export function defaultSnapshotName(now = new Date()): string {
  return `snap-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', '-')}`;
}

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
  current: boolean;
}

function infoOf(p: ParsedSnapshot, current: string | undefined): SnapshotInfo {
  return {
    name: p.name,
    description: p.description ?? null,
    createdAt: p.creationTime === undefined ? null : new Date(p.creationTime * 1000).toISOString(),
    state: p.state ?? null,
    parent: p.parent ?? null,
    kind: p.kind,
    memory: p.memory,
    current: p.name === current,
  };
}

async function readSnapshots(ctx: VmContext, dom: Domain): Promise<ParsedSnapshot[]> {
  const snaps = await ctx.client.listSnapshots(dom);
  const xmls = await Promise.all(snaps.map((s) => ctx.client.getSnapshotXml(s)));
  return orderSnapshots(xmls.map(parseSnapshotXml));
}

async function currentName(ctx: VmContext, dom: Domain): Promise<string | undefined> {
  if (!(await ctx.client.hasCurrentSnapshot(dom))) return undefined;
  return (await ctx.client.currentSnapshot(dom)).name;
}

export interface SnapshotList {
  name: string;
  current: string | null;
  snapshots: SnapshotInfo[];
}

export async function listVmSnapshots(ctx: VmContext, name: string): Promise<SnapshotList> {
  const dom = await lookupVm(ctx, name);
  const [snaps, current] = await Promise.all([readSnapshots(ctx, dom), currentName(ctx, dom)]);
  return { name, current: current ?? null, snapshots: snaps.map((s) => infoOf(s, current)) };
}

export interface CreateSnapshotOptions {
  description?: string;
  /** Only the disks, not the memory: crash-consistent (filesystems frozen first when the guest agent answers). */
  diskOnly?: boolean;
  /** Force a kind instead of roost's choice. */
  kind?: SnapshotKind;
}

export interface CreateSnapshotResult extends SnapshotInfo {
  vm: string;
  /** Why this kind (the automatic choice, or 'asked for'). */
  kindReason: string;
  /** For a disk-only snapshot of a running VM: the guest agent froze the filesystems first. */
  quiesced: boolean;
}

/** Which kind a new snapshot gets, and why; throws when the request cannot be met. */
export function chooseKind(
  dom: ParsedDomain,
  running: boolean,
  existing: readonly ParsedSnapshot[],
  opts: CreateSnapshotOptions,
): { kind: SnapshotKind; reason: string } {
  const writable = dom.disks.filter((d) => d.device === 'disk' && !d.readonly);
  const internalBlocker =
    dom.firmware === 'uefi'
      ? 'the VM boots with UEFI (pflash NVRAM), which libvirt cannot snapshot internally'
      : writable.some((d) => d.format !== 'qcow2')
        ? 'a disk is not qcow2'
        : running && opts.diskOnly
          ? 'libvirt takes internal snapshots of a running VM only with its memory'
          : existing.some((s) => s.kind === 'external')
            ? 'the VM already has external snapshots'
            : undefined;
  if (opts.kind === 'internal') {
    if (internalBlocker) {
      throw new UsageError(
        'SNAPSHOT_KIND_IMPOSSIBLE',
        `cannot take an internal snapshot: ${internalBlocker}`,
        {
          hint: 'leave out --kind: roost then takes an external one',
        },
      );
    }
    return { kind: 'internal', reason: 'asked for' };
  }
  if (opts.kind === 'external') {
    if (existing.some((s) => s.kind === 'internal')) {
      throw new UsageError(
        'SNAPSHOT_KIND_IMPOSSIBLE',
        'cannot take an external snapshot: the VM already has internal ones',
        { hint: 'leave out --kind, or delete its internal snapshots first (roost snapshot ls)' },
      );
    }
    return { kind: 'external', reason: 'asked for' };
  }
  return internalBlocker
    ? { kind: 'external', reason: internalBlocker }
    : { kind: 'internal', reason: 'BIOS and qcow2 disks: stored inside the disk' };
}

export async function createVmSnapshot(
  ctx: VmContext,
  vmName: string,
  snapName: string | undefined,
  opts: CreateSnapshotOptions = {},
): Promise<CreateSnapshotResult> {
  const name = checkSnapshotName(snapName ?? defaultSnapshotName());
  const dom = await lookupVm(ctx, vmName);
  const [xml, running, existing] = await Promise.all([
    ctx.client.getXml(dom, DomainXmlFlags.INACTIVE),
    ctx.client.isActive(dom),
    readSnapshots(ctx, dom),
  ]);
  if (existing.some((s) => s.name === name)) {
    throw new UsageError('SNAPSHOT_EXISTS', `VM ${quoted(vmName)} already has a snapshot ${quoted(name)}`, {
      hint: `pick another name, or remove it first: roost snapshot rm ${vmName} ${name}`,
    });
  }
  if (running && !opts.diskOnly) {
    refuseSharedFolders(vmName, name, sharedFolders(await ctx.client.getXml(dom, DomainXmlFlags.SECURE)));
  }
  const parsed = parseDomainXml(xml);
  const { kind, reason } = chooseKind(parsed, running, existing, opts);
  const request =
    kind === 'external'
      ? await externalRequest(ctx, parsed, vmName, name, running && !opts.diskOnly)
      : { name, kind, memoryFile: undefined, disks: [] };
  const xmlReq = buildSnapshotXml({ ...request, description: opts.description });
  const diskOnly = kind === 'external' && request.memoryFile === undefined;
  const base = CREATE.ATOMIC | (diskOnly ? CREATE.DISK_ONLY : 0);
  let quiesced = false;
  try {
    if (diskOnly && running && parsed.guestAgent) {
      // Frozen filesystems make the disk-only snapshot consistent; an agent that does not answer is not fatal.
      quiesced = await ctx.client
        .createSnapshot(dom, xmlReq, base | CREATE.QUIESCE)
        .then(() => true)
        .catch((e: unknown) => {
          if (isAgentMissing(e)) return false;
          throw e;
        });
    }
    if (!quiesced) await ctx.client.createSnapshot(dom, xmlReq, base);
  } catch (e) {
    throw explainSnapshotFailure(e, vmName, name);
  }
  if (kind === 'external') await refreshPool(ctx);
  const snap = await ctx.client.lookupSnapshot(dom, name);
  const info = infoOf(parseSnapshotXml(await ctx.client.getSnapshotXml(snap)), name);
  return { vm: vmName, ...info, kindReason: reason, quiesced };
}

/** External snapshot files go in roost's pool; refuses VMs whose writable disks roost did not make. */
async function externalRequest(
  ctx: VmContext,
  parsed: ParsedDomain,
  vm: string,
  snap: string,
  withMemory: boolean,
) {
  const { dir } = await ensurePool(ctx.client, ctx.paths);
  const disks = parsed.disks.filter((d) => d.device === 'disk' || d.device === 'cdrom');
  const writable = disks.filter((d) => d.device === 'disk' && !d.readonly && d.path !== undefined);
  const ours = new Set(
    await poolVolumesAmong(
      ctx.client,
      writable.map((d) => d.path!),
    ),
  );
  const foreign = disks.find((d) => d.device === 'disk' && !d.readonly && !ours.has(d.path ?? ''));
  if (foreign) {
    throw new RoostError(
      'SNAPSHOT_FOREIGN_DISK',
      `VM ${quoted(vm)} has a disk roost did not make (${foreign.path ?? foreign.target ?? 'a non-file disk'}): ` +
        "an external snapshot's overlay would have to be written beside it, outside roost's pool",
      { hint: `use virsh, which lets you choose where: virsh snapshot-create-as ${vm} ${snap} --diskspec …` },
    );
  }
  return {
    name: snap,
    kind: 'external' as const,
    memoryFile: withMemory ? `${dir}/${vm}.${snap}.mem` : undefined,
    disks: disks
      .filter((d) => d.target !== undefined)
      .map((d) => ({
        target: d.target!,
        overlay: d.device === 'disk' && !d.readonly ? `${dir}/${vm}.${snap}.${d.target}.qcow2` : undefined,
      })),
  };
}

async function refreshPool(ctx: VmContext): Promise<void> {
  // Files libvirt made or removed for snapshots become (or stop being) volumes virsh and virt-manager list.
  const { pool } = await ensurePool(ctx.client, ctx.paths);
  await ctx.client.refreshStoragePool(pool).catch(() => undefined);
}

async function lookupSnapshot(
  ctx: VmContext,
  dom: Domain,
  vm: string,
  snap: string,
): Promise<DomainSnapshot> {
  try {
    return await ctx.client.lookupSnapshot(dom, snap);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    throw new NotFoundError('SNAPSHOT_NOT_FOUND', `VM ${quoted(vm)} has no snapshot ${quoted(snap)}`, {
      hint: `list them with: roost snapshot ls ${vm}`,
      cause: e,
    });
  }
}

export interface RevertResult {
  vm: string;
  snapshot: string;
  /** The VM's state after the revert. */
  running: boolean;
}

export async function revertVmSnapshot(
  ctx: VmContext,
  vm: string,
  snap: string,
  opts: { start?: boolean } = {},
): Promise<RevertResult> {
  checkSnapshotName(snap);
  const dom = await lookupVm(ctx, vm);
  const s = await lookupSnapshot(ctx, dom, vm, snap);
  try {
    await ctx.client.revertToSnapshot(s, opts.start ? REVERT.RUNNING : 0);
  } catch (e) {
    throw isBusy(e) ? busy(vm, e) : e;
  }
  await refreshPool(ctx);
  return { vm, snapshot: snap, running: await ctx.client.isActive(dom) };
}

export async function deleteVmSnapshot(
  ctx: VmContext,
  vm: string,
  snap: string,
): Promise<{ vm: string; snapshot: string }> {
  checkSnapshotName(snap);
  const dom = await lookupVm(ctx, vm);
  const s = await lookupSnapshot(ctx, dom, vm, snap);
  try {
    await ctx.client.deleteSnapshot(s);
  } catch (e) {
    if (e instanceof LibvirtError && /not a leaf|children/i.test(e.message)) {
      throw new RoostError(
        'SNAPSHOT_IN_USE',
        `cannot remove snapshot ${quoted(snap)} of VM ${quoted(vm)}: the VM runs on top of it and later snapshots build on it (${e.message})`,
        {
          hint: `revert to another snapshot first (roost snapshot revert ${vm} OTHER), or remove the later ones`,
          cause: e,
        },
      );
    }
    throw e;
  }
  await refreshPool(ctx);
  return { vm, snapshot: snap };
}

/**
 * Every file a VM's snapshots hold (memory files, overlays, the disks of each saved definition), for `roost rm`:
 * undefining a VM drops libvirt's snapshot records, not their files.
 */
export async function snapshotFilesOf(ctx: VmContext, dom: Domain): Promise<string[]> {
  const snaps = await readSnapshots(ctx, dom).catch((e: unknown) => {
    if (isNotFound(e)) return [];
    throw e;
  });
  const files = new Set<string>();
  for (const s of snaps) {
    if (s.memoryFile) files.add(s.memoryFile);
    for (const f of [...s.overlays, ...s.domainDisks]) files.add(f);
  }
  return [...files];
}
