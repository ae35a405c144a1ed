// The plan of `roost apply`: each VM of the files against what exists, as kubectl apply compares. A VM that is
// missing is created; one that differs in what can be changed in place (CPUs, memory, disk, forwards, shared
// folders, autostart) is changed; a field the file leaves out is left as it is. What can only be chosen at creation (image,
// firmware, networks, cloud-init) is never changed in place: a difference there is a note, not a change.
// Pure: no connection, no files — the unit tests feed it made-up VMs.
import { resolve as resolvePath } from 'node:path';
import type { VmSpec } from '../declarative/schema.js';
import { UsageError } from '../errors.js';
import { formatPortForward, parsePortForward } from '../net/port-spec.js';
import type { ApplyChange, ApplyVm } from '../shared/declarative.js';
import { diffMounts, type MountEdit } from './apply-mounts.js';
import type { CurrentVm } from './apply-state.js';
import { looksLikeCatalogName } from './input.js';
import { parseCpus, parseDiskBytes, parseMemoryMiB } from './input.js';
import type { CheckedMount } from './mount-check.js';

/** A VM of a file, with the file's absolute path. */
export interface Desired {
  spec: VmSpec;
  file: string;
  /** The spec's `mounts:` as checked against this host (apply-mounts.ts); undefined when it gives none. */
  mounts?: CheckedMount[];
}

/** What apply will do to one VM: the wire shape, and what the steps need. */
export interface PlannedVm extends ApplyVm {
  spec?: VmSpec;
  current?: CurrentVm;
  edit: VmEdit;
}

/** The in-place changes of one VM, in the terms of the use cases that make them. */
export interface VmEdit extends MountEdit {
  cpus?: number;
  memoryMiB?: number;
  diskBytes?: number;
  addPorts: string[];
  removePorts: string[];
  autostart?: boolean;
}

/** The guest port of roost's own ssh forward: create adds one to a cloud image when the user gave none. */
const SSH_GUEST_PORT = 22;

export function planVm(d: Desired, cur: CurrentVm | undefined): PlannedVm {
  const base = {
    name: d.spec.name,
    file: d.file,
    spec: d.spec,
    notes: [],
    outcome: 'planned',
    error: null,
  } as const;
  if (cur === undefined) {
    return {
      ...base,
      action: 'create',
      changes: [],
      notes: [],
      current: undefined,
      edit: noEdit(),
    };
  }
  if (cur.appliedFrom !== undefined && cur.appliedFrom !== d.file) {
    throw new UsageError(
      'APPLY_OTHER_FILE',
      `VM '${cur.name}' is applied from ${cur.appliedFrom}, not ${d.file}`,
      {
        hint: `describe it in one file only, or remove it from ${cur.appliedFrom} (then apply --prune there leaves it)`,
      },
    );
  }
  const { changes, edit } = diffFields(d, cur);
  return {
    ...base,
    action: changes.length > 0 ? 'change' : 'unchanged',
    changes,
    notes: creationOnlyNotes(d.spec, cur),
    current: cur,
    edit,
  };
}

function noEdit(): VmEdit {
  return { addPorts: [], removePorts: [], addMounts: [], removeMounts: [] };
}

function diffFields(d: Desired, cur: CurrentVm): { changes: ApplyChange[]; edit: VmEdit } {
  const spec = d.spec;
  const changes: ApplyChange[] = [];
  const edit: VmEdit = noEdit();
  const later = 'next-start';
  if (spec.cpus !== undefined && parseCpus(String(spec.cpus)) !== cur.parsed.cpus) {
    edit.cpus = spec.cpus;
    changes.push({ field: 'cpus', from: String(cur.parsed.cpus), to: String(spec.cpus), when: later });
  }
  if (spec.memory !== undefined) {
    const mib = parseMemoryMiB(String(spec.memory));
    if (mib !== cur.parsed.memoryMiB) {
      edit.memoryMiB = mib;
      changes.push({ field: 'memory', from: `${cur.parsed.memoryMiB} MiB`, to: `${mib} MiB`, when: later });
    }
  }
  diffDisk(spec, cur, edit, changes);
  diffPorts(spec, cur, edit, changes);
  Object.assign(edit, diffMounts(d.mounts, cur.parsed, changes));
  if (spec.autostart !== undefined && spec.autostart !== cur.autostart) {
    edit.autostart = spec.autostart;
    changes.push({
      field: 'autostart',
      from: onOff(cur.autostart),
      to: onOff(spec.autostart),
      when: 'next-start',
    });
  }
  return { changes, edit };
}

function diffDisk(spec: VmSpec, cur: CurrentVm, edit: VmEdit, changes: ApplyChange[]): void {
  if (spec.disk === undefined) return;
  const bytes = parseDiskBytes(String(spec.disk));
  if (cur.diskBytes === undefined || bytes === cur.diskBytes) return;
  if (bytes < cur.diskBytes) {
    throw new UsageError(
      'DISK_SHRINK',
      `the disk of VM '${cur.name}' is ${sizeText(cur.diskBytes)}: the file asks ${sizeText(bytes)}, and a disk never shrinks (that would cut off the guest's data)`,
      { hint: `give disk: ${sizeText(cur.diskBytes)} or more in the file` },
    );
  }
  edit.diskBytes = bytes;
  changes.push({ field: 'disk', from: sizeText(cur.diskBytes), to: sizeText(bytes), when: 'live' });
}

/**
 * Forwards as a set. roost's own ssh forward (to guest port 22, added by create) is kept unless the file names a
 * forward to port 22 itself: its host port was chosen by create, not by the file.
 */
function diffPorts(spec: VmSpec, cur: CurrentVm, edit: VmEdit, changes: ApplyChange[]): void {
  if (spec.ports === undefined) return;
  const wanted = spec.ports.map((p) => formatPortForward(parsePortForward(p)));
  const fileHasSsh = spec.ports.some((p) => parsePortForward(p).guestStart === SSH_GUEST_PORT);
  const kept = (p: string) => !fileHasSsh && parsePortForward(p).guestStart === SSH_GUEST_PORT;
  edit.addPorts = wanted.filter((p) => !cur.ports.includes(p));
  edit.removePorts = cur.ports.filter((p) => !wanted.includes(p) && !kept(p));
  // A running VM's forwards change live when its guest agent answers (ports.ts 'auto'), else at its next start.
  const when = cur.running && cur.parsed.guestAgent ? 'live' : 'next-start';
  for (const p of edit.removePorts) changes.push({ field: 'ports', from: p, to: null, when });
  for (const p of edit.addPorts) changes.push({ field: 'ports', from: null, to: p, when });
}

/** What differs but is only chosen when a VM is made: said, never changed (that would mean a new VM). */
function creationOnlyNotes(spec: VmSpec, cur: CurrentVm): string[] {
  const notes: string[] = [];
  const p = cur.parsed;
  const ref = imageRefOf(spec);
  const had = p.roost?.imageRef;
  if (ref !== undefined && had !== undefined && ref !== had) notes.push(`image: ${had} → ${ref}`);
  if (spec.firmware !== undefined && spec.firmware !== p.firmware)
    notes.push(`firmware: ${p.firmware} → ${spec.firmware}`);
  if (
    spec.kernel !== undefined &&
    p.boot.kind === 'kernel' &&
    resolvePath(spec.kernel.path) !== p.boot.kernel
  ) {
    notes.push(`kernel: ${p.boot.kernel} → ${resolvePath(spec.kernel.path)}`);
  }
  if (spec.networks !== undefined) {
    const now = p.nics.map((n) => (n.type === 'user' ? 'user' : `bridge=${n.bridge ?? n.network ?? '?'}`));
    if (now.join(',') !== spec.networks.join(','))
      notes.push(`networks: ${now.join(', ')} → ${spec.networks.join(', ')}`);
  }
  return notes.map((n) => `${n} (chosen at creation only: remove the VM and apply again to change it)`);
}

/** The image as create records it in roost's metadata: a catalogue name, or a file's absolute path. */
export function imageRefOf(spec: VmSpec): string | undefined {
  if (spec.image === undefined) return undefined;
  const ref = typeof spec.image === 'string' ? spec.image : spec.image.ref;
  return looksLikeCatalogName(ref) ? ref : resolvePath(ref);
}

/** VMs applied from one of `files` that no file lists any more: what --prune removes. */
export function planPrune(
  files: readonly string[],
  listed: ReadonlySet<string>,
  current: Iterable<CurrentVm>,
): PlannedVm[] {
  const out: PlannedVm[] = [];
  for (const cur of current) {
    if (cur.appliedFrom === undefined || !files.includes(cur.appliedFrom) || listed.has(cur.name)) continue;
    out.push({
      name: cur.name,
      file: cur.appliedFrom,
      action: 'remove',
      changes: [],
      notes: [],
      outcome: 'planned',
      error: null,
      current: cur,
      edit: noEdit(),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function onOff(v: boolean): string {
  return v ? 'on' : 'off';
}

export function sizeText(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${Number(gib.toFixed(2))} GiB`;
  return `${Number((bytes / 1024 ** 2).toFixed(1))} MiB`;
}

/** The plan as lines: `+ create web`, `~ change web memory: 1024 MiB → 2048 MiB (at next start)`, `= unchanged db`. */
export function planLines(vms: readonly ApplyVm[]): string[] {
  const lines: string[] = [];
  for (const vm of vms) {
    if (vm.action === 'create') lines.push(`+ create ${vm.name}`);
    else if (vm.action === 'remove')
      lines.push(`- remove ${vm.name} (applied from ${vm.file}, no longer in it)`);
    else if (vm.action === 'unchanged') lines.push(`= unchanged ${vm.name}`);
    for (const c of vm.changes) {
      lines.push(
        `~ change ${vm.name} ${c.field}: ${c.from ?? '(none)'} → ${c.to ?? '(none)'} (${c.when === 'live' ? 'live' : 'at next start'})`,
      );
    }
    for (const n of vm.notes) lines.push(`! ${vm.name} ${n}`);
  }
  return lines;
}
