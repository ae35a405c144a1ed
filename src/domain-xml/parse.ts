// libvirt domain XML → what roost shows and needs. Any domain the daemon returns must read, including ones made
// by hand or by other tools: a missing element gives a default or undefined, never an exception. Only XML that
// is not well-formed, or not a <domain>, is an error (DOMAIN_XML_INVALID).
import { DomainXmlError } from './errors.js';
import { hasSharedMemory, parseFilesystem, type ParsedFilesystem } from './filesystems.js';
import { findRoostElement, parseRoostElement } from './metadata.js';
import { parsePortForwards, type PortExclusion } from './ports.js';
import { hasQuickCpuProbe } from './quick-cpu-probe.js';
import {
  GUEST_AGENT_CHANNEL,
  type Accel,
  type BootSpec,
  type DiskSpec,
  type FilesystemSpec,
  type Firmware,
  type HostAccess,
  type PortForwardSpec,
  type RoostMetadata,
  type VmSpec,
} from './spec.js';
import { childElements, firstChild, parseXml, textContent, type XmlElement } from './xml.js';
import { readInterfaceQuickly } from './xml-fragment.js';

export interface ParsedDisk {
  /** 'disk', 'cdrom', 'floppy', 'lun'. */
  device: string;
  /** Source type: 'file', 'block', 'network', 'volume'… */
  type: string;
  /** File or block device path; undefined for an empty cdrom or a network disk. */
  path: string | undefined;
  /** For type='volume': the pool and volume. */
  volume?: { pool: string; volume: string };
  /** Driver type: 'qcow2', 'raw'… */
  format: string | undefined;
  bus: string | undefined;
  target: string | undefined;
  readonly: boolean;
}

export interface ParsedNic {
  /** 'user', 'bridge', 'network', 'direct'… */
  type: string;
  /** 'passt' for passt; 'default' for the built-in slirp (user) or a tap (others). */
  backend: string;
  mac: string | undefined;
  model: string | undefined;
  /** Bridge name (type bridge) or network name (type network). */
  bridge: string | undefined;
  network: string | undefined;
  ports: PortForwardSpec[];
  exclusions: PortExclusion[];
  /**
   * Whether the guest reaches the host's loopback through this NIC: 'loopback' for user networking (passt, and
   * the built-in slirp, map the gateway address to the host's 127.0.0.1), 'none' for every other kind.
   */
  hostAccess: HostAccess;
}

export interface ParsedDomain {
  name: string;
  uuid: string | undefined;
  /** The domain type as written: 'kvm', 'qemu', or anything else. */
  domainType: string;
  /** kvm → 'kvm', qemu → 'tcg', otherwise undefined. */
  accel: Accel | undefined;
  /** `<memory>` in MiB (rounded down); 0 when absent. */
  memoryMiB: number;
  currentMemoryMiB: number | undefined;
  /** `<vcpu>` (maximum vCPUs); 1, libvirt's default, when absent. */
  cpus: number;
  firmware: Firmware;
  /** As written, e.g. 'pc-q35-10.0' or 'q35'. */
  machine: string | undefined;
  machineFamily: 'q35' | 'pc' | undefined;
  boot: BootSpec;
  /** All drives, the boot ISO too (see bootIso for which one that is). */
  disks: ParsedDisk[];
  nics: ParsedNic[];
  /** Shared folders (`<filesystem>` devices), in order. */
  filesystems: ParsedFilesystem[];
  /** `<memoryBacking>` gives shared memory (what virtiofs needs). */
  sharedMemory: boolean;
  serialLog: string | undefined;
  vnc: { socket: string } | null;
  /** A VNC listener on TCP (hand-made domains): reachable by other local users, worth a warning. */
  vncTcp: { address: string | undefined; port: number | undefined } | null;
  guestAgent: boolean;
  memballoon: string | undefined;
  /** The domain carries roost's CPU-probe override (quick-cpu-probe.ts). */
  quickCpuProbe: boolean;
  /** Undefined for domains roost did not create. */
  roost: RoostMetadata | undefined;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  bytes: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

/** A libvirt scaled integer (`<memory unit='KiB'>`; KiB when no unit) in MiB, or undefined if unreadable. */
export function scaledToMiB(el: XmlElement | undefined): number | undefined {
  return el === undefined ? undefined : mibOf(textContent(el), el.attrs.get('unit'));
}

/** A size element's text and unit attribute (libvirt's default unit is KiB) in whole MiB. */
export function mibOf(text: string | undefined, unitName = 'KiB'): number | undefined {
  const digits = text?.trim();
  if (digits === undefined || !/^[0-9]{1,20}$/.test(digits)) return undefined;
  const unit = UNIT_BYTES[unitName.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor((Number(digits) * unit) / 1024 ** 2);
}

function intOf(el: XmlElement | undefined): number | undefined {
  return countOf(textContent(el));
}

export function countOf(text: string | undefined): number | undefined {
  const digits = text?.trim();
  return digits !== undefined && /^[0-9]{1,9}$/.test(digits) ? Number(digits) : undefined;
}

function parseDisk(disk: XmlElement): ParsedDisk {
  const source = firstChild(disk, 'source');
  const target = firstChild(disk, 'target');
  const pool = source?.attrs.get('pool');
  const volume = source?.attrs.get('volume');
  return {
    device: disk.attrs.get('device') ?? 'disk',
    type: disk.attrs.get('type') ?? 'file',
    path: source?.attrs.get('file') ?? source?.attrs.get('dev'),
    ...(pool !== undefined && volume !== undefined ? { volume: { pool, volume } } : {}),
    format: firstChild(disk, 'driver')?.attrs.get('type'),
    bus: target?.attrs.get('bus'),
    target: target?.attrs.get('dev'),
    readonly: firstChild(disk, 'readonly') !== undefined,
  };
}

/** A non-user NIC as people name it: `bridge:br0`, `network:default`, or its type alone (`udp`, `direct`…). */
export function nicSource(n: ParsedNic): string {
  const name = n.bridge ?? n.network;
  return name === undefined ? n.type : `${n.type}:${name}`;
}

function parseNic(iface: XmlElement): ParsedNic {
  const type = iface.attrs.get('type') ?? 'user';
  const source = firstChild(iface, 'source');
  const { ports, exclusions } = parsePortForwards(iface);
  return {
    type,
    backend: firstChild(iface, 'backend')?.attrs.get('type') ?? 'default',
    mac: firstChild(iface, 'mac')?.attrs.get('address')?.toLowerCase(),
    model: firstChild(iface, 'model')?.attrs.get('type'),
    bridge: type === 'bridge' ? source?.attrs.get('bridge') : undefined,
    network: type === 'network' ? source?.attrs.get('network') : undefined,
    ports,
    exclusions,
    hostAccess: type === 'user' ? 'loopback' : 'none',
  };
}

/**
 * The NICs of a domain document written by libvirt, without reading the rest of it: the port-conflict checks of
 * `create` and `port add` read every other VM's XML, and this parses a small part of what parseDomainXml does. It relies
 * on libvirt's own layout: `<devices>` after `<metadata>`, and `<interface>` elements that do not nest. Each NIC
 * is read by the quick reader for libvirt's own formatting (xml-fragment.ts), or by the strict reader when it needs
 * more. (A hand-written document goes through the daemon, which rewrites it so.)
 */
export function parseNicsOnly(xml: string): ParsedNic[] {
  if (!xml.includes('<interface')) return [];
  const devices = xml.lastIndexOf('<devices>');
  if (devices < 0) return [];
  const nics: ParsedNic[] = [];
  // indexOf and a sticky expression that stops at the next '<', not a lazy `<interface[\s\S]*?</interface>`:
  // over a hostile document full of unclosed `<interface`, that one scans to the end from each of them, in time
  // that grows with the square of the document. Here each character is looked at a bounded number of times.
  let mayClose = true; // false once an <interface> has no </interface> after it: no later one can have one either
  for (let at = xml.indexOf('<interface', devices); at >= 0;) {
    const afterName = at + '<interface'.length;
    let end = -1; // where the element ends, when it is one
    TAG_REST.lastIndex = afterName;
    if (TAG_START.test(xml[afterName] ?? '') && TAG_REST.test(xml)) {
      const tagEnd = TAG_REST.lastIndex; // just after the '>'
      if (xml[tagEnd - 2] === '/') end = tagEnd;
      else if (mayClose) {
        const close = xml.indexOf('</interface>', tagEnd);
        if (close < 0) mayClose = false;
        else end = close + '</interface>'.length;
      }
    }
    if (end > 0) {
      const text = xml.slice(at, end);
      nics.push(parseNic(readInterfaceQuickly(text) ?? parseXml(text).root));
    }
    at = xml.indexOf('<interface', end > 0 ? end : afterName);
  }
  return nics;
}

/** What may follow `<interface` in its start tag: XML white space, '>' or the '/' of '/>'. */
const TAG_START = /^[ \t\n\r>/]$/;
/** The rest of a start tag up to its '>', never across a '<' (which no start tag contains). */
const TAG_REST = /[^<>]*>/y;

function parseFirmware(os: XmlElement | undefined): Firmware {
  if (os?.attrs.get('firmware') === 'efi') return 'uefi';
  // An explicit loader: pflash (or a path to an OVMF/edk2 build) is UEFI; a plain ROM is a BIOS.
  const loader = firstChild(os, 'loader');
  if (loader === undefined) return 'bios';
  const path = textContent(loader) ?? '';
  return loader.attrs.get('type') === 'pflash' || /ovmf|edk2|uefi/i.test(path) ? 'uefi' : 'bios';
}

function parseBoot(os: XmlElement | undefined, disks: ParsedDisk[]): BootSpec {
  const kernel = textContent(firstChild(os, 'kernel'))?.trim();
  if (kernel) {
    const initrd = textContent(firstChild(os, 'initrd'));
    const cmdline = textContent(firstChild(os, 'cmdline'));
    return {
      kind: 'kernel',
      kernel,
      ...(initrd?.trim() ? { initrd: initrd.trim() } : {}),
      ...(cmdline !== undefined ? { cmdline } : {}),
    };
  }
  // Boot order: `<os><boot dev>` elements, or per-device `<boot order>` (libvirt allows only one style).
  const first = firstChild(os, 'boot')?.attrs.get('dev');
  const cdrom = disks.find((d) => d.device === 'cdrom');
  if (first === 'cdrom' && cdrom?.path !== undefined) return { kind: 'cdrom', iso: cdrom.path };
  return { kind: 'disk' };
}

/** With per-device boot order, the cdrom that boots first (if the first drive to boot is a cdrom). */
function firstBootCdrom(diskEls: XmlElement[], disks: ParsedDisk[]): ParsedDisk | undefined {
  let best: { order: number; index: number } | undefined;
  diskEls.forEach((disk, index) => {
    const order = Number(firstChild(disk, 'boot')?.attrs.get('order'));
    if (Number.isInteger(order) && (best === undefined || order < best.order)) best = { order, index };
  });
  const chosen = best === undefined ? undefined : disks[best.index];
  return chosen?.device === 'cdrom' ? chosen : undefined;
}

/** Parses a domain. Throws DomainXmlError('DOMAIN_XML_INVALID') only for malformed XML or a non-domain root. */
export function parseDomainXml(xml: string): ParsedDomain {
  const { root } = parseXml(xml);
  if (root.name !== 'domain') {
    throw new DomainXmlError('DOMAIN_XML_INVALID', `expected a <domain> document, got <${root.name}>`);
  }
  return readDomain(root);
}

/** Reads an already parsed `<domain>` element (edit.ts uses it to find NICs and disks). */
export function readDomain(root: XmlElement): ParsedDomain {
  const domainType = root.attrs.get('type') ?? '';
  const os = firstChild(root, 'os');
  const osType = firstChild(os, 'type');
  const machine = osType?.attrs.get('machine');
  const devices = firstChild(root, 'devices');
  const deviceList = devices === undefined ? [] : childElements(devices);
  const diskEls = deviceList.filter((d) => d.name === 'disk');
  const disks = diskEls.map(parseDisk);

  let boot = parseBoot(os, disks);
  const orderedCdrom = firstBootCdrom(diskEls, disks);
  if (boot.kind === 'disk' && orderedCdrom?.path !== undefined)
    boot = { kind: 'cdrom', iso: orderedCdrom.path };

  const serial = deviceList.find((d) => d.name === 'serial');
  const graphics = deviceList.filter((d) => d.name === 'graphics' && d.attrs.get('type') === 'vnc');
  let vnc: { socket: string } | null = null;
  let vncTcp: ParsedDomain['vncTcp'] = null;
  for (const g of graphics) {
    const socket =
      g.attrs.get('socket') ??
      childElements(g, 'listen')
        .find((l) => l.attrs.has('socket'))
        ?.attrs.get('socket');
    if (socket !== undefined) {
      vnc ??= { socket };
      continue;
    }
    const port = Number(g.attrs.get('port'));
    const listen = g.attrs.get('listen') ?? firstChild(g, 'listen')?.attrs.get('address');
    vncTcp ??= { address: listen, port: Number.isInteger(port) && port > 0 ? port : undefined };
  }
  const metadata = firstChild(root, 'metadata');
  const roostEl = findRoostElement(metadata);
  const family =
    machine === undefined
      ? undefined
      : /q35/.test(machine)
        ? 'q35'
        : /^pc($|-i440fx|-\d)/.test(machine)
          ? 'pc'
          : undefined;

  return {
    // Not trimmed: libvirt keeps a name exactly as given.
    name: textContent(firstChild(root, 'name')) ?? '',
    uuid: textContent(firstChild(root, 'uuid'))?.trim() || undefined,
    domainType,
    accel: domainType === 'kvm' ? 'kvm' : domainType === 'qemu' ? 'tcg' : undefined,
    memoryMiB: scaledToMiB(firstChild(root, 'memory')) ?? 0,
    currentMemoryMiB: scaledToMiB(firstChild(root, 'currentMemory')),
    cpus: intOf(firstChild(root, 'vcpu')) ?? 1,
    firmware: parseFirmware(os),
    machine,
    machineFamily: family,
    boot,
    disks,
    nics: deviceList.filter((d) => d.name === 'interface').map(parseNic),
    filesystems: deviceList.filter((d) => d.name === 'filesystem').map(parseFilesystem),
    sharedMemory: hasSharedMemory(root),
    serialLog: serial === undefined ? undefined : firstChild(serial, 'log')?.attrs.get('file'),
    vnc,
    vncTcp,
    guestAgent: deviceList.some(
      (d) =>
        d.name === 'channel' &&
        childElements(d, 'target').some((t) => t.attrs.get('name') === GUEST_AGENT_CHANNEL),
    ),
    memballoon: deviceList.find((d) => d.name === 'memballoon')?.attrs.get('model'),
    quickCpuProbe: hasQuickCpuProbe(root),
    roost: roostEl === undefined ? undefined : parseRoostElement(roostEl),
  };
}

/**
 * The VmSpec view of a parsed domain: what `buildDomainXml` would need to make an equivalent domain.
 * Things VmSpec cannot express are dropped (a NIC on a libvirt network, a network disk…); the boot ISO is not
 * listed among the disks. For a roost-built domain, `toVmSpec(parseDomainXml(buildDomainXml(s)))` equals `s`
 * with its defaults filled in.
 */
export function toVmSpec(parsed: ParsedDomain): VmSpec {
  const isoIndex = parsed.boot.kind === 'cdrom' ? parsed.disks.findIndex((d) => d.device === 'cdrom') : -1;
  const disks = parsed.disks.flatMap((d, i): DiskSpec[] => {
    if (i === isoIndex || d.path === undefined) return [];
    const disk: DiskSpec = { path: d.path, format: d.format === 'qcow2' ? 'qcow2' : 'raw' };
    if (d.bus === 'virtio' || d.bus === 'sata' || d.bus === 'scsi' || d.bus === 'ide') disk.bus = d.bus;
    if (d.target !== undefined) disk.target = d.target;
    disk.device = d.device === 'cdrom' ? 'cdrom' : 'disk';
    if (d.readonly && disk.device === 'disk') disk.readonly = true;
    return [disk];
  });
  const network = parsed.nics.flatMap((n): VmSpec['network'] => {
    const mac = n.mac === undefined ? {} : { mac: n.mac };
    if (n.type === 'user') return [{ kind: 'user', ports: n.ports, ...mac }];
    if (n.type === 'bridge' && n.bridge !== undefined) return [{ kind: 'bridge', bridge: n.bridge, ...mac }];
    return [];
  });
  const filesystems = parsed.filesystems.flatMap((f): FilesystemSpec[] =>
    (f.type === '9p' || f.type === 'virtiofs') && f.source !== undefined && f.tag !== undefined
      ? [{ type: f.type, source: f.source, tag: f.tag, ...(f.readonly ? { readonly: true } : {}) }]
      : [],
  );
  return {
    name: parsed.name,
    ...(parsed.uuid === undefined ? {} : { uuid: parsed.uuid }),
    accel: parsed.accel ?? 'tcg',
    memoryMiB: parsed.memoryMiB,
    cpus: parsed.cpus,
    firmware: parsed.firmware,
    ...(parsed.machineFamily === undefined ? {} : { machine: parsed.machineFamily }),
    boot: parsed.boot,
    disks,
    network,
    ...(filesystems.length > 0 ? { filesystems } : {}),
    ...(parsed.serialLog === undefined ? {} : { serialLog: parsed.serialLog }),
    vnc: parsed.vnc,
    guestAgent: parsed.guestAgent,
    ...(parsed.memballoon === 'none' || parsed.memballoon === 'virtio'
      ? { memballoon: parsed.memballoon }
      : {}),
    ...(parsed.quickCpuProbe ? {} : { quickCpuProbe: false }),
    roost: parsed.roost ?? { createdBy: '' },
  };
}
