// Checks on VmSpec values before they become XML. Only what XML or libvirt's schema needs is checked here
// (user-facing rules such as the VM name pattern or privileged ports belong to the CLI): a spec that passes
// produces a document that `virt-xml-validate` accepts.
import { ipVersion } from '../ip-literal.js';
import { DomainXmlError } from './errors.js';
import { checkFilesystems } from './filesystems.js';
import type { DiskSpec, PortForwardSpec, VmSpec } from './spec.js';
import { assertXmlChars } from './xml.js';

function bad(message: string): DomainXmlError {
  return new DomainXmlError('DOMAIN_XML_BAD_SPEC', message);
}

/** A non-empty single-line string that XML can carry. */
export function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw bad(`${what} must be a non-empty string`);
  assertXmlChars(value, what);
  if (/[\n\r]/.test(value)) throw bad(`${what} must be a single line`);
  return value;
}

/** libvirt wants absolute paths for files it opens (schema `absFilePath`). */
export function checkPath(value: unknown, what: string): string {
  const path = checkString(value, what);
  if (!path.startsWith('/')) throw bad(`${what} must be an absolute path, got "${path}"`);
  return path;
}

export function checkPositiveInt(value: unknown, what: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw bad(`${what} must be a whole number from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
export function checkUuid(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw bad(`not a UUID: ${String(value)}`);
  return value;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
export function checkMac(value: unknown): string {
  if (typeof value !== 'string' || !MAC.test(value))
    throw bad(`not a MAC address (aa:bb:cc:dd:ee:ff): ${String(value)}`);
  // The low bit of the first octet marks multicast; libvirt refuses such a NIC address.
  if ((Number.parseInt(value.slice(0, 2), 16) & 1) === 1)
    throw bad(`MAC address ${value} is a multicast address`);
  return value.toLowerCase();
}

/** Linux interface names: at most 15 bytes (IFNAMSIZ 16 with the NUL), and the schema's `deviceName` set. */
export function checkBridge(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.:-]{1,15}$/.test(value)) {
    throw bad(`not a bridge name: ${String(value)}`);
  }
  return value;
}

export function checkPortForward(port: PortForwardSpec, what: string): void {
  if (port.proto !== 'tcp' && port.proto !== 'udp') throw bad(`${what}: protocol must be tcp or udp`);
  checkPositiveInt(port.hostStart, `${what}: host port`, 65535);
  checkPositiveInt(port.guestStart, `${what}: guest port`, 65535);
  if (port.hostEnd !== undefined) {
    checkPositiveInt(port.hostEnd, `${what}: last host port`, 65535);
    if (port.hostEnd < port.hostStart)
      throw bad(`${what}: host range ${port.hostStart}-${port.hostEnd} is reversed`);
    if (port.guestStart + (port.hostEnd - port.hostStart) > 65535) {
      throw bad(`${what}: guest range starting at ${port.guestStart} runs past port 65535`);
    }
  }
  if (port.address !== undefined && port.address !== '' && ipVersion(port.address) === 0) {
    throw bad(`${what}: host address must be an IP address, got "${port.address}"`);
  }
}

const TARGET = /^(vd|sd|hd|xvd)[a-z]{1,3}$/;
export function checkDisk(disk: DiskSpec, what: string): void {
  checkPath(disk.path, `${what} path`);
  if (disk.format !== 'qcow2' && disk.format !== 'raw') throw bad(`${what}: format must be qcow2 or raw`);
  if (disk.device !== undefined && disk.device !== 'disk' && disk.device !== 'cdrom') {
    throw bad(`${what}: device must be disk or cdrom`);
  }
  if (disk.bus !== undefined && !['virtio', 'sata', 'scsi', 'ide'].includes(disk.bus)) {
    throw bad(`${what}: bus must be virtio, sata, scsi or ide`);
  }
  if (disk.target !== undefined && !TARGET.test(disk.target))
    throw bad(`${what}: bad target name "${disk.target}"`);
}

/** Throws DomainXmlError('DOMAIN_XML_BAD_SPEC') naming the first problem. */
export function checkSpec(spec: VmSpec): void {
  if (spec === null || typeof spec !== 'object') throw bad('the VM spec must be an object');
  checkString(spec.name, 'VM name');
  if (spec.uuid !== undefined) checkUuid(spec.uuid);
  if (spec.accel !== 'kvm' && spec.accel !== 'tcg') throw bad('accel must be kvm or tcg');
  // 16 TiB and 4096 vCPUs: far above what QEMU/x86 accepts, low enough to catch a unit mistake.
  checkPositiveInt(spec.memoryMiB, 'memory (MiB)', 16 * 1024 * 1024);
  checkPositiveInt(spec.cpus, 'CPU count', 4096);
  if (spec.firmware !== 'uefi' && spec.firmware !== 'bios') throw bad('firmware must be uefi or bios');
  if (spec.machine !== undefined && spec.machine !== 'q35' && spec.machine !== 'pc') {
    throw bad('machine must be q35 or pc');
  }
  const boot = spec.boot;
  if (boot?.kind === 'kernel') {
    checkPath(boot.kernel, 'kernel');
    if (boot.initrd !== undefined) checkPath(boot.initrd, 'initrd');
    if (boot.cmdline !== undefined) {
      assertXmlChars(boot.cmdline, 'kernel command line');
    }
  } else if (boot?.kind === 'cdrom') {
    checkPath(boot.iso, 'ISO');
  } else if (boot?.kind !== 'disk') {
    throw bad('boot kind must be disk, kernel or cdrom');
  }
  if (!Array.isArray(spec.disks)) throw bad('disks must be a list');
  spec.disks.forEach((d, i) => checkDisk(d, `disk ${i + 1}`));
  if (!Array.isArray(spec.network)) throw bad('network must be a list of NICs');
  spec.network.forEach((nic, i) => {
    const what = `NIC ${i + 1}`;
    if (nic.mac !== undefined) checkMac(nic.mac);
    if (nic.kind === 'user') {
      if (!Array.isArray(nic.ports)) throw bad(`${what}: ports must be a list`);
      nic.ports.forEach((p, j) => checkPortForward(p, `${what} port ${j + 1}`));
    } else if (nic.kind === 'bridge') {
      checkBridge(nic.bridge);
    } else {
      throw bad(`${what}: kind must be user or bridge`);
    }
  });
  checkFilesystems(spec.filesystems);
  if (spec.serialLog !== undefined) checkPath(spec.serialLog, 'serial log');
  if (spec.vnc !== null && spec.vnc !== undefined) checkPath(spec.vnc.socket, 'VNC socket');
  if (spec.memballoon !== undefined && spec.memballoon !== 'virtio' && spec.memballoon !== 'none') {
    throw bad('memballoon must be virtio or none');
  }
  if (spec.roost === null || typeof spec.roost !== 'object') throw bad('roost metadata is missing');
  checkString(spec.roost.createdBy, 'created-by');
}
