// roost export NAME: the VM file (docs/apply.md) that `roost apply` turns back into this VM — for any VM, made by
// roost, virsh or virt-manager, as far as the file's fields can say it. What they cannot say (a second disk, a
// NIC on a libvirt network, a hand-made device) is listed in comments at the top, so nobody takes the file for
// the whole VM. The format switch is a table: roost's own file, or KubeVirt manifests (export-kubevirt.ts).
import { join } from 'node:path';
import { Document } from 'yaml';
import type { ParsedDomain } from '../domain-xml/parse.js';
import type { VmSpec } from '../declarative/schema.js';
import { UsageError } from '../errors.js';
import type { KubevirtOptions } from '../kubevirt/index.js';
import { formatPortForward } from '../net/port-spec.js';
import { readOneVm, type CurrentVm } from './apply-state.js';
import type { VmContext } from './context.js';
import { seedPathOf, tryReadIsoFile, userPartOf } from './export-seed.js';
import { toPortForward } from './forwards.js';
import { lookupVm } from './lookup.js';
import { mountRows } from './mount-rows.js';

/** The formats `roost export --format` knows. */
export const EXPORT_FORMATS = ['roost', 'kubevirt'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What the description could not carry, for the comments. */
export interface Described {
  spec: VmSpec;
  left: string[];
}

/** The file, and what it could not carry (also in its first comments), for the CLI to warn with. */
export interface Exported {
  text: string;
  warnings: string[];
}

export async function exportVm(
  ctx: VmContext,
  name: string,
  format: string = 'roost',
  kubevirt: KubevirtOptions = {},
): Promise<Exported> {
  const write = Object.hasOwn(WRITERS, format) ? WRITERS[format as ExportFormat] : undefined;
  if (write === undefined) {
    throw new UsageError('EXPORT_FORMAT', `unknown export format '${format}'`, {
      hint: `use --format ${EXPORT_FORMATS.join(' or --format ')}`,
    });
  }
  const given = Object.entries(kubevirt).filter(([, v]) => v !== undefined);
  if (format !== 'kubevirt' && given.length > 0) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `the KubeVirt options (${given.map(([k]) => k).join(', ')}) need --format kubevirt`,
    );
  }
  return write(ctx, await readOneVm(ctx, await lookupVm(ctx, name)), kubevirt);
}

type Writer = (ctx: VmContext, cur: CurrentVm, kubevirt: KubevirtOptions) => Promise<Exported>;

const WRITERS: Record<ExportFormat, Writer> = {
  roost: (ctx, cur) => {
    const d = describeVm(ctx, cur, cur.diskBytes);
    return Promise.resolve({ text: roostYaml(d), warnings: d.left });
  },
  kubevirt: async (ctx, cur, opts) => {
    const { kubevirtExport } = await import('./export-kubevirt.js');
    const { text, notes } = await kubevirtExport(ctx, cur, opts);
    return { text, warnings: notes };
  },
};

/** The VM as a VM file's fields, and what was left out. */
export function describeVm(
  ctx: Pick<VmContext, 'paths'>,
  cur: CurrentVm,
  diskBytes: number | undefined,
): Described {
  const p = cur.parsed;
  const left: string[] = [];
  const spec: VmSpec = { name: cur.name };
  describeBoot(p, spec, left);
  spec.cpus = p.cpus;
  spec.memory = `${p.memoryMiB}M`;
  if (diskBytes !== undefined) spec.disk = sizeSpec(diskBytes);
  spec.firmware = p.firmware;
  describeNetworks(p, spec, left);
  if (p.roost?.autoPorts) spec.autoPorts = true;
  describeMounts(p, spec, left);
  if (cur.autostart) spec.autostart = true;
  describeCloudInit(ctx, cur, spec, left);
  const extraDisks = p.disks.filter((d) => d.device === 'disk').slice(1);
  for (const d of extraDisks) left.push(`disk ${d.path ?? '(no file)'}: only the main disk is described`);
  if (cur.appliedFrom === undefined && p.roost === undefined) {
    left.push('this VM was not made by roost: devices the file has no field for are not described');
  }
  return { spec, left };
}

function describeBoot(p: ParsedDomain, spec: VmSpec, left: string[]): void {
  if (p.boot.kind === 'kernel') {
    spec.kernel = { path: p.boot.kernel, initrd: p.boot.initrd, cmdline: p.boot.cmdline };
    if (spec.kernel.initrd === undefined) delete spec.kernel.initrd;
    if (spec.kernel.cmdline === undefined) delete spec.kernel.cmdline;
  } else if (p.boot.kind === 'cdrom') {
    left.push(
      `it boots the installer ${p.boot.iso}: apply would need an image (roost create --iso makes such a VM)`,
    );
  }
  const ref = p.roost?.imageRef;
  if (ref !== undefined && !ref.endsWith('.iso')) spec.image = ref;
  else if (p.roost === undefined) {
    const disk = p.disks.find((d) => d.device === 'disk' && !d.readonly)?.path;
    if (disk !== undefined) {
      spec.image = disk;
      left.push(`image: ${disk} is this VM's own disk; apply makes a new disk on top of it (copy-on-write)`);
    }
  }
}

function describeNetworks(p: ParsedDomain, spec: VmSpec, left: string[]): void {
  const networks: string[] = [];
  const ports: string[] = [];
  for (const n of p.nics) {
    if (n.type === 'user') {
      networks.push('user');
      ports.push(...n.ports.map((f) => formatPortForward(toPortForward(f))));
    } else if (n.type === 'bridge' && n.bridge !== undefined) networks.push(`bridge=${n.bridge}`);
    else
      left.push(
        `a NIC of type ${n.type}${n.network ? ` (network ${n.network})` : ''}: only user and bridge NICs are described`,
      );
  }
  if (networks.length > 0) spec.networks = networks;
  if (ports.length > 0) spec.ports = ports;
}

/** Shared folders as the user gave them (the path before symlinks), where the guest mounts them, the mode. */
function describeMounts(p: ParsedDomain, spec: VmSpec, left: string[]): void {
  const mounts: NonNullable<VmSpec['mounts']> = [];
  for (const r of mountRows(p)) {
    if (r.guestDir === null) {
      left.push(`shared folder ${r.hostDir} (tag ${r.tag}): where the guest mounts it is not recorded`);
      continue;
    }
    mounts.push({
      host: r.hostDirGiven ?? r.hostDir,
      guest: r.guestDir,
      ...(r.mode === 'ro' ? { readOnly: true } : {}),
    });
  }
  if (mounts.length > 0) spec.mounts = mounts;
}

function describeCloudInit(
  ctx: Pick<VmContext, 'paths'>,
  cur: CurrentVm,
  spec: VmSpec,
  left: string[],
): void {
  const p = cur.parsed;
  const seed = seedPathOf(ctx.paths, p);
  const ci: NonNullable<VmSpec['cloudInit']> = {};
  if (p.roost?.sshUser !== undefined) ci.user = p.roost.sshUser;
  const key = p.roost?.sshKeyPath;
  if (key !== undefined && !key.startsWith(join(ctx.paths.data, 'ssh'))) ci.sshKey = key;
  if (seed !== undefined) {
    const userData = tryReadIsoFile(seed, 'user-data');
    if (userData === undefined || userData instanceof Error)
      left.push(`the cloud-init seed ${seed} could not be read: its user-data is not described`);
    else Object.assign(ci, userPartOf(userData, cur.name, p.roost?.sshUser));
  }
  if (Object.keys(ci).length > 0) spec.cloudInit = ci;
}

function sizeSpec(bytes: number): string {
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}G`;
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}M`;
  return `${Math.ceil(bytes / 1024)}K`;
}

/** The file: a header (what it is, how to apply it, what was left out), then the VM's fields. */
export function roostYaml(d: Described): string {
  const doc = new Document(d.spec);
  const header = [
    ` roost VM file (docs/apply.md): roost apply FILE`,
    ` yaml-language-server: $schema=https://roost.dev/schema/vm-1.json`,
    ...(d.left.length > 0 ? [' Not described here:', ...d.left.map((l) => `  - ${l}`)] : []),
  ];
  doc.commentBefore = header.join('\n');
  return doc.toString({ lineWidth: 0 });
}
