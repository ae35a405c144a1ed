// libvirt's <domainsnapshot> XML: the request roost sends to take a snapshot, and what a snapshot's description
// says (its state, parent, creation time and the files it owns). A snapshot's XML comes from the daemon and
// describes a domain someone may have made by hand: every field is optional here and checked by the caller.
import { escapeAttribute, escapeText, firstChild, childElements, parseXml, textContent } from './xml.js';
import type { XmlElement } from './xml-types.js';

export type SnapshotKind = 'internal' | 'external';

export interface SnapshotDiskRequest {
  /** The disk's target, e.g. 'vda'. */
  target: string;
  /** External: the new overlay file that takes the guest's writes from now on. Undefined: not snapshotted. */
  overlay?: string;
}

export interface SnapshotRequest {
  name: string;
  description?: string;
  kind: SnapshotKind;
  /** External with memory: where the RAM and device state go. Undefined: disk-only (or internal). */
  memoryFile?: string;
  /** Every disk of the domain, in order: writable ones with an overlay (external), the rest left out. */
  disks: SnapshotDiskRequest[];
}

/** The XML for DOMAIN_SNAPSHOT_CREATE_XML. Internal snapshots let libvirt choose (memory too when running). */
export function buildSnapshotXml(req: SnapshotRequest): string {
  const lines = ['<domainsnapshot>', `  <name>${escapeText(req.name)}</name>`];
  if (req.description) lines.push(`  <description>${escapeText(req.description)}</description>`);
  if (req.kind === 'external') {
    lines.push(
      req.memoryFile === undefined
        ? "  <memory snapshot='no'/>"
        : `  <memory snapshot='external' file='${escapeAttribute(req.memoryFile)}'/>`,
    );
    lines.push('  <disks>');
    for (const d of req.disks) {
      lines.push(
        d.overlay === undefined
          ? `    <disk name='${escapeAttribute(d.target)}' snapshot='no'/>`
          : `    <disk name='${escapeAttribute(d.target)}' snapshot='external' type='file'>` +
              `<driver type='qcow2'/><source file='${escapeAttribute(d.overlay)}'/></disk>`,
      );
    }
    lines.push('  </disks>');
  }
  lines.push('</domainsnapshot>', '');
  return lines.join('\n');
}

export interface ParsedSnapshot {
  name: string;
  description: string | undefined;
  /** The domain's state when it was taken: 'running', 'shutoff', 'disk-snapshot' (disk-only of a running VM)… */
  state: string | undefined;
  parent: string | undefined;
  /** Seconds since the epoch. */
  creationTime: number | undefined;
  kind: SnapshotKind;
  /** The snapshot holds the guest's memory: reverting gives back the running guest. */
  memory: boolean;
  /** The memory file of an external snapshot. */
  memoryFile: string | undefined;
  /** The overlays an external snapshot created (the guest's writes after it). */
  overlays: string[];
  /** The disk files of the domain as it was when the snapshot was taken (its <domain> copy). */
  domainDisks: string[];
}

const fileOf = (el: XmlElement | undefined) =>
  el?.attrs.get('file') ?? firstChild(el, 'source')?.attrs.get('file');

export function parseSnapshotXml(xml: string): ParsedSnapshot {
  const root = parseXml(xml).root;
  const memory = firstChild(root, 'memory');
  const disks = childElements(firstChild(root, 'disks') ?? root, 'disk');
  const external =
    memory?.attrs.get('snapshot') === 'external' || disks.some((d) => d.attrs.get('snapshot') === 'external');
  const domainDevices = firstChild(firstChild(root, 'domain'), 'devices');
  const creation = Number(textContent(firstChild(root, 'creationTime'))?.trim());
  const state = textContent(firstChild(root, 'state'))?.trim();
  return {
    name: textContent(firstChild(root, 'name'))?.trim() ?? '',
    description: textContent(firstChild(root, 'description')),
    state,
    parent: textContent(firstChild(firstChild(root, 'parent'), 'name'))?.trim(),
    creationTime: Number.isFinite(creation) && creation > 0 ? creation : undefined,
    kind: external ? 'external' : 'internal',
    memory: external
      ? memory?.attrs.get('snapshot') === 'external'
      : state === 'running' || state === 'paused',
    memoryFile: memory?.attrs.get('snapshot') === 'external' ? memory.attrs.get('file') : undefined,
    overlays: disks
      .filter((d) => d.attrs.get('snapshot') === 'external')
      .map(fileOf)
      .filter((f): f is string => f !== undefined),
    domainDisks: (domainDevices === undefined ? [] : childElements(domainDevices, 'disk'))
      .map((d) => firstChild(d, 'source')?.attrs.get('file'))
      .filter((f): f is string => f !== undefined),
  };
}
