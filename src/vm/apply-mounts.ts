// The `mounts:` of a VM file (docs/apply.md): each one is what `roost create --mount HOSTDIR[:GUESTDIR][:ro]`
// takes, checked by the same code (mount-check.ts) before anything changes; an existing VM's shared folders are
// compared with the file's as a set (real host directory, guest directory, mode), and the difference is made by
// `roost mount rm` and `mount add` — in the definition, so at the VM's next start (libvirt cannot hot-plug them).
import type { VmSpec } from '../declarative/schema.js';
import type { ParsedDomain } from '../domain-xml/parse.js';
import { UsageError } from '../errors.js';
import type { ApplyChange } from '../shared/declarative.js';
import type { MountRow } from '../shared/mounts.js';
import { checkMounts, type CheckedMount } from './mount-check.js';
import { mountRows } from './mount-rows.js';

export type FileMount = NonNullable<VmSpec['mounts']>[number];

/** The file's shared folder as create's --mount spells it. */
export function mountArgOf(m: FileMount): string {
  return `${m.host}${m.guest !== undefined ? `:${m.guest}` : ''}${m.readOnly ? ':ro' : ''}`;
}

/** Checks a VM's `mounts:` as create checks --mount; a refusal names the VM (exit 2, nothing changed). */
export function checkFileMounts(spec: VmSpec, home: string | undefined): CheckedMount[] | undefined {
  if (spec.mounts === undefined) return undefined;
  try {
    return checkMounts(spec.mounts.map(mountArgOf), { home });
  } catch (e) {
    if (e instanceof UsageError) {
      throw new UsageError(e.code, `VM '${spec.name}': mounts: ${e.message}`, { hint: e.hint });
    }
    throw e;
  }
}

/** A shared folder as the plan prints it: HOSTDIR:GUESTDIR[:ro]. */
function mountText(hostDir: string, guestDir: string | null, readonly: boolean): string {
  return `${hostDir}:${guestDir ?? '(not recorded)'}${readonly ? ':ro' : ''}`;
}

const rowText = (r: MountRow) => mountText(r.hostDir, r.guestDir, r.mode === 'ro');
const checkedText = (m: CheckedMount) => mountText(m.hostDir, m.guestDir, m.readonly);

/** What changes: the VM's folders the file does not list go, the file's the VM has not come. */
export interface MountEdit {
  addMounts: CheckedMount[];
  removeMounts: MountRow[];
}

export function diffMounts(
  wanted: readonly CheckedMount[] | undefined,
  parsed: ParsedDomain,
  changes: ApplyChange[],
): MountEdit {
  if (wanted === undefined) return { addMounts: [], removeMounts: [] };
  const rows = mountRows(parsed);
  const have = new Set(rows.map(rowText));
  const want = new Set(wanted.map(checkedText));
  const edit: MountEdit = {
    addMounts: wanted.filter((m) => !have.has(checkedText(m))),
    removeMounts: rows.filter((r) => !want.has(rowText(r))),
  };
  for (const r of edit.removeMounts)
    changes.push({ field: 'mounts', from: rowText(r), to: null, when: 'next-start' });
  for (const m of edit.addMounts)
    changes.push({ field: 'mounts', from: null, to: checkedText(m), when: 'next-start' });
  return edit;
}

/** The --mount argument of a checked folder (its real host directory) or of a VM's existing one (to put it back). */
export function argOfChecked(m: CheckedMount): string {
  return `${m.hostDir}:${m.guestDir}${m.readonly ? ':ro' : ''}`;
}

export function argOfRow(r: MountRow): string | undefined {
  return r.guestDir === null ? undefined : `${r.hostDir}:${r.guestDir}${r.mode === 'ro' ? ':ro' : ''}`;
}
