// Edits of an existing domain's XML that change only what they are about. The document is parsed into an ordered
// tree (comments, CDATA, namespaced elements such as <qemu:commandline>, other applications' <metadata>, unknown
// attributes and the original indentation all kept), the one part is changed in place, and the tree is written
// back. So `roost port add` on a domain made by hand, or by a newer libvirt than roost knows, loses nothing.
//
// Each function takes and returns the XML text; every error is a DomainXmlError (INVALID for input that is not a
// domain, BAD_SPEC for a bad argument, NOT_FOUND when the NIC or disk named does not exist).
import { checkPortForward, checkPositiveInt } from './check.js';
import { assignTargets, buildDisk } from './devices.js';
import { DomainXmlError } from './errors.js';
import { deleteFilesystem, insertFilesystem } from './filesystems.js';
import { buildRoostElement, findRoostElement } from './metadata.js';
import { rangeElement } from './ports.js';
import { readDomain } from './parse.js';
import {
  DEFAULT_PORT_ADDRESS,
  type DiskSpec,
  type FilesystemSpec,
  type PortForwardSpec,
  type RoostMetadata,
} from './spec.js';
import {
  childElements,
  element,
  ensureChild,
  firstChild,
  insertChild,
  parseXml,
  removeChild,
  serializeXml,
  setText,
  type XmlElement,
} from './xml.js';

/** Parses `xml`, lets `change` edit the `<domain>` element in place, and serialises the whole document again. */
export function editDomainXml(xml: string, change: (domain: XmlElement) => void): string {
  const doc = parseXml(xml);
  if (doc.root.name !== 'domain') {
    throw new DomainXmlError('DOMAIN_XML_INVALID', `expected a <domain> document, got <${doc.root.name}>`);
  }
  change(doc.root);
  return serializeXml(doc);
}

function devicesOf(domain: XmlElement): XmlElement {
  return ensureChild(domain, 'devices', 0);
}

/** A NIC by position among the domain's `<interface>` elements (0-based) or by MAC address. */
export type NicSelector = number | string;

function findNic(domain: XmlElement, nic: NicSelector): XmlElement {
  const nics = childElements(devicesOf(domain), 'interface');
  const found =
    typeof nic === 'number'
      ? nics[nic]
      : nics.find((n) => firstChild(n, 'mac')?.attrs.get('address')?.toLowerCase() === nic.toLowerCase());
  if (found === undefined) {
    throw new DomainXmlError(
      'DOMAIN_XML_NOT_FOUND',
      typeof nic === 'number'
        ? `the domain has no NIC number ${nic + 1} (it has ${nics.length})`
        : `the domain has no NIC with MAC address ${nic}`,
    );
  }
  return found;
}

/**
 * Replaces the forwarded ports of a passt NIC. Existing `<portForward>` groups are reused when proto and address
 * match (their other attributes, e.g. dev, and their exclude ranges stay); groups left without ranges are
 * removed; new groups go after the last one. The NIC must be type='user' with the passt backend: libvirt
 * forwards ports only through passt.
 */
export function setPortForwards(xml: string, nic: NicSelector, ports: readonly PortForwardSpec[]): string {
  ports.forEach((p, i) => checkPortForward(p, `port ${i + 1}`));
  return editDomainXml(xml, (domain) => {
    const iface = findNic(domain, nic);
    const backend = firstChild(iface, 'backend')?.attrs.get('type');
    if (iface.attrs.get('type') !== 'user' || backend !== 'passt') {
      throw new DomainXmlError(
        'DOMAIN_XML_BAD_SPEC',
        `ports can be forwarded only on a user NIC with the passt backend (this one is type='${iface.attrs.get('type') ?? ''}'` +
          `${backend === undefined ? '' : `, backend '${backend}'`})`,
      );
    }
    // Groups whose ranges we take out are removed at the end if no new port lands in them.
    const emptied: XmlElement[] = [];
    for (const group of childElements(iface, 'portForward')) {
      const forwards = childElements(group, 'range').filter((r) => r.attrs.get('exclude') !== 'yes');
      if (forwards.length === 0) continue;
      forwards.forEach((r) => removeChild(group, r));
      emptied.push(group);
    }
    for (const port of ports) {
      const address = port.address ?? DEFAULT_PORT_ADDRESS;
      const groups = childElements(iface, 'portForward');
      let group = groups.find(
        (g) => (g.attrs.get('proto') ?? 'tcp') === port.proto && (g.attrs.get('address') ?? '') === address,
      );
      if (group === undefined) {
        group = element('portForward', { proto: port.proto, address: address === '' ? undefined : address });
        const anchor = groups[groups.length - 1] ?? firstChild(iface, 'backend');
        const elements = childElements(iface);
        insertChild(iface, group, 2, anchor === undefined ? undefined : elements.indexOf(anchor) + 1);
      }
      insertChild(group, rangeElement(port), 3);
    }
    for (const group of emptied) if (childElements(group).length === 0) removeChild(iface, group);
  });
}

/** Sets `<memory>` (and `<currentMemory>` when present) to `mib` MiB, written in KiB like libvirt does. */
export function setMemory(xml: string, mib: number): string {
  checkPositiveInt(mib, 'memory (MiB)', 16 * 1024 * 1024);
  return editDomainXml(xml, (domain) => {
    const kib = String(mib * 1024);
    const memory = ensureChild(domain, 'memory', 0);
    memory.attrs.set('unit', 'KiB');
    setText(memory, kib);
    const current = firstChild(domain, 'currentMemory');
    if (current !== undefined) {
      current.attrs.set('unit', 'KiB');
      setText(current, kib);
    }
  });
}

/**
 * Sets the number of vCPUs the domain boots with. A `current` lower than the maximum is dropped (the new count
 * is both), per-vCPU `<vcpus>` lists are dropped (they must list exactly that many), and a CPU topology that no
 * longer multiplies out becomes n sockets of one core and thread — otherwise libvirt refuses the domain.
 */
export function setVcpus(xml: string, n: number): string {
  checkPositiveInt(n, 'CPU count', 4096);
  return editDomainXml(xml, (domain) => {
    const vcpu = ensureChild(domain, 'vcpu', 0);
    vcpu.attrs.delete('current');
    setText(vcpu, String(n));
    const list = firstChild(domain, 'vcpus');
    if (list !== undefined) removeChild(domain, list);
    const topology = firstChild(firstChild(domain, 'cpu'), 'topology');
    if (topology !== undefined) {
      const names = ['sockets', 'dies', 'clusters', 'cores', 'threads'];
      const product = names.reduce((acc, name) => acc * Number(topology.attrs.get(name) ?? '1'), 1);
      if (product !== n) {
        for (const name of names) if (topology.attrs.has(name)) topology.attrs.set(name, '1');
        topology.attrs.set('sockets', String(n));
      }
    }
  });
}

// Elements that come before <metadata> in libvirt's own output.
const BEFORE_METADATA = new Set(['name', 'uuid', 'genid', 'title', 'description']);

/** Writes roost's metadata element, replacing the old one in place; other applications' metadata stays. */
export function setRoostMetadata(xml: string, meta: RoostMetadata): string {
  const fresh = buildRoostElement(meta);
  return editDomainXml(xml, (domain) => {
    let metadata = firstChild(domain, 'metadata');
    if (metadata === undefined) {
      metadata = element('metadata');
      const elements = childElements(domain);
      let at = 0;
      elements.forEach((el, i) => {
        if (BEFORE_METADATA.has(el.name)) at = i + 1;
      });
      insertChild(domain, metadata, 0, at);
    }
    const old = findRoostElement(metadata);
    if (old === undefined) {
      insertChild(metadata, fresh, 1);
      return;
    }
    // Same position, same prefix as before: libvirt's virDomainSetMetadata keys by namespace URI, not prefix.
    const at = childElements(metadata).indexOf(old);
    removeChild(metadata, old);
    insertChild(metadata, fresh, 1, at);
  });
}

/** Adds a file-backed disk after the last `<disk>`; a missing target gets the first free name on its bus. */
export function addDisk(xml: string, disk: DiskSpec): string {
  return editDomainXml(xml, (domain) => {
    const parsed = readDomain(domain);
    const devices = devicesOf(domain);
    const used = new Set(parsed.disks.flatMap((d) => (d.target === undefined ? [] : [d.target])));
    if (disk.target !== undefined && used.has(disk.target)) {
      throw new DomainXmlError(
        'DOMAIN_XML_BAD_SPEC',
        `the domain already has a disk on target ${disk.target}`,
      );
    }
    const machine = parsed.machineFamily ?? 'q35';
    const [target] = assignTargets([disk], machine, used);
    const diskEl = buildDisk(disk, machine, target as string);
    const elements = childElements(devices);
    const lastDisk = childElements(devices, 'disk').pop();
    // No disk yet: first device, but after <emulator>, which libvirt writes first.
    const at =
      lastDisk !== undefined ? elements.indexOf(lastDisk) + 1 : elements[0]?.name === 'emulator' ? 1 : 0;
    insertChild(devices, diskEl, 1, at);
  });
}

/** Removes the disk whose target (e.g. 'vdb') or source path is `targetOrPath`. The file itself is not touched. */
export function removeDisk(xml: string, targetOrPath: string): string {
  return editDomainXml(xml, (domain) => {
    const devices = devicesOf(domain);
    const disk = childElements(devices, 'disk').find((d) => {
      const target = firstChild(d, 'target')?.attrs.get('dev');
      const source = firstChild(d, 'source');
      return (
        target === targetOrPath ||
        source?.attrs.get('file') === targetOrPath ||
        source?.attrs.get('dev') === targetOrPath
      );
    });
    if (disk === undefined) {
      throw new DomainXmlError(
        'DOMAIN_XML_NOT_FOUND',
        `the domain has no disk with target or path ${targetOrPath}`,
      );
    }
    removeChild(devices, disk);
  });
}

/**
 * Adds a shared folder (`<filesystem>`, after the disks, controllers and other filesystems). A virtiofs one also
 * gets the domain shared memory backing. A tag the domain already has is refused (DOMAIN_XML_BAD_SPEC).
 */
export function addFilesystem(xml: string, fs: FilesystemSpec): string {
  return editDomainXml(xml, (domain) => insertFilesystem(domain, fs));
}

/**
 * Removes the shared folder with this mount tag (DOMAIN_XML_NOT_FOUND when there is none). Shared memory
 * backing stays: other devices may need it, and it costs nothing.
 */
export function removeFilesystem(xml: string, tag: string): string {
  return editDomainXml(xml, (domain) => {
    if (!deleteFilesystem(domain, tag)) {
      throw new DomainXmlError('DOMAIN_XML_NOT_FOUND', `the domain has no shared folder with tag ${tag}`);
    }
  });
}

/** What makes a copy of a domain a domain of its own (`roost clone`). */
export interface CloneIdentity {
  name: string;
  uuid: string;
  /** New MAC addresses, one per `<interface>` in document order. */
  macs: readonly string[];
  /** Disk sources to replace: old path → new path (the copied disk, the new seed). */
  paths: ReadonlyMap<string, string>;
  serialLog?: string;
  vncSocket?: string;
}

/**
 * The source domain's XML made into the clone's: its name, UUID and MACs; the disks it names moved to the clone's
 * files (a disk's recorded `<backingStore>` goes too: libvirt reads the new file's chain); roost's serial log and
 * VNC socket under the new name. What libvirt fills in per domain is dropped so that it fills it in afresh: the
 * NVRAM path (a fresh copy of the firmware's template, never the source's file) and the guest agent socket.
 * Everything else — devices, tuning, other applications' metadata — is kept as the source has it.
 */
export function cloneDomainXml(xml: string, id: CloneIdentity): string {
  return editDomainXml(xml, (domain) => {
    setText(ensureChild(domain, 'name', 1, 0), id.name);
    const uuid = firstChild(domain, 'uuid');
    if (uuid !== undefined) setText(uuid, id.uuid);
    else insertChild(domain, element('uuid', {}, [id.uuid]), 1, 1);
    const os = firstChild(domain, 'os');
    const nvram = firstChild(os, 'nvram');
    if (os !== undefined && nvram !== undefined) removeChild(os, nvram);
    const devices = devicesOf(domain);
    for (const disk of childElements(devices, 'disk')) {
      const source = firstChild(disk, 'source');
      const from = source?.attrs.get('file');
      const to = from === undefined ? undefined : id.paths.get(from);
      if (source === undefined || to === undefined) continue;
      source.attrs.set('file', to);
      const backing = firstChild(disk, 'backingStore');
      if (backing !== undefined) removeChild(disk, backing);
    }
    const nics = childElements(devices, 'interface');
    if (nics.length !== id.macs.length) {
      throw new DomainXmlError(
        'DOMAIN_XML_BAD_SPEC',
        `the domain has ${nics.length} NICs but ${id.macs.length} new MAC addresses were given`,
      );
    }
    nics.forEach((nic, i) => ensureChild(nic, 'mac', 3, 0).attrs.set('address', id.macs[i]!));
    const log = firstChild(firstChild(devices, 'serial'), 'log');
    if (log !== undefined && id.serialLog !== undefined) log.attrs.set('file', id.serialLog);
    for (const graphics of childElements(devices, 'graphics')) {
      if (graphics.attrs.get('type') !== 'vnc' || id.vncSocket === undefined) continue;
      if (graphics.attrs.has('socket')) graphics.attrs.set('socket', id.vncSocket);
      for (const listen of childElements(graphics, 'listen')) {
        if (listen.attrs.get('type') === 'socket') listen.attrs.set('socket', id.vncSocket);
      }
    }
    for (const channel of childElements(devices, 'channel')) {
      const source = firstChild(channel, 'source');
      if (channel.attrs.get('type') === 'unix' && source !== undefined) removeChild(channel, source);
    }
  });
}
