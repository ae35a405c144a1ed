// `<disk>` and `<interface>` elements, shared by the builder and the editor (addDisk).
import { checkBridge, checkDisk, checkMac } from './check.js';
import { DomainXmlError } from './errors.js';
import { buildPortForwards } from './ports.js';
import type { DiskBus, DiskSpec, HostAccess, MachineType, NicSpec } from './spec.js';
import { element, type XmlElement } from './xml.js';

const TARGET_PREFIX: Record<DiskBus, string> = { virtio: 'vd', sata: 'sd', scsi: 'sd', ide: 'hd' };

/** The bus a disk ends up on: virtio for disks; for cdroms sata on q35 (no IDE there) and ide on pc. */
export function diskBus(disk: DiskSpec, machine: MachineType): DiskBus {
  if (disk.bus !== undefined) return disk.bus;
  if (disk.device === 'cdrom') return machine === 'pc' ? 'ide' : 'sata';
  return 'virtio';
}

/** 0 → 'a', 25 → 'z', 26 → 'aa' (the kernel's and libvirt's naming). */
function letters(index: number): string {
  let out = '';
  let n = index + 1;
  while (n > 0) {
    const rem = (n - 1) % 26;
    out = String.fromCharCode(97 + rem) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

/** The first free target name for `bus`, given the ones in use. */
export function nextTarget(bus: DiskBus, used: ReadonlySet<string>): string {
  const prefix = TARGET_PREFIX[bus];
  for (let i = 0; ; i++) {
    const name = prefix + letters(i);
    if (!used.has(name)) return name;
  }
}

/**
 * Gives every drive a target name: named ones keep theirs (a duplicate, or one in `inUse`, is an error), the
 * others get the first free name on their bus. Returns the names in the order of `disks`.
 */
export function assignTargets(
  disks: readonly DiskSpec[],
  machine: MachineType,
  inUse: ReadonlySet<string> = new Set(),
): string[] {
  const used = new Set(inUse);
  for (const disk of disks) {
    if (disk.target === undefined) continue;
    if (used.has(disk.target)) {
      throw new DomainXmlError('DOMAIN_XML_BAD_SPEC', `disk target ${disk.target} is used twice`);
    }
    used.add(disk.target);
  }
  return disks.map((disk) => {
    if (disk.target !== undefined) return disk.target;
    const target = nextTarget(diskBus(disk, machine), used);
    used.add(target);
    return target;
  });
}

/** Builds a file-backed `<disk>` on `target` (see assignTargets). */
export function buildDisk(disk: DiskSpec, machine: MachineType, target: string, what = 'disk'): XmlElement {
  checkDisk(disk, what);
  const device = disk.device ?? 'disk';
  const readonly = device === 'cdrom' || disk.readonly === true;
  return element('disk', { type: 'file', device }, [
    element('driver', { name: 'qemu', type: disk.format, discard: device === 'disk' ? 'unmap' : undefined }),
    element('source', { file: disk.path }),
    element('target', { dev: target, bus: diskBus(disk, machine) }),
    readonly && element('readonly'),
  ]);
}

/** The host-access modes a passt NIC can have in the XML this module builds (see HostAccess). */
export const HOST_ACCESS_MODES: readonly HostAccess[] = ['loopback'];

/** Why these NICs cannot have this host access; undefined when they can (bridged NICs never map loopback). */
export function hostAccessProblem(access: HostAccess, nics: readonly NicSpec[]): string | undefined {
  if (!nics.some((n) => n.kind === 'user') || HOST_ACCESS_MODES.includes(access)) return undefined;
  return (
    `--host-access ${access} is not possible with a passt NIC (--network user): libvirt starts passt with a ` +
    `fixed set of options and its domain XML cannot add --no-map-gw, so passt maps the guest's gateway ` +
    `address to the host's 127.0.0.1`
  );
}

export function buildInterface(nic: NicSpec, what = 'NIC'): XmlElement {
  const mac = nic.mac === undefined ? undefined : element('mac', { address: checkMac(nic.mac) });
  const model = element('model', { type: 'virtio' });
  if (nic.kind === 'user') {
    const problem = hostAccessProblem(nic.hostAccess ?? 'loopback', [nic]);
    if (problem) throw new DomainXmlError('DOMAIN_XML_BAD_SPEC', `${what}: ${problem}`);
    // passt rather than the built-in slirp: faster, IPv6, and ports can be forwarded per range and address.
    return element('interface', { type: 'user' }, [
      mac,
      element('backend', { type: 'passt' }),
      ...buildPortForwards(nic.ports ?? []),
      model,
    ]);
  }
  if (nic.kind === 'bridge') {
    return element('interface', { type: 'bridge' }, [
      mac,
      element('source', { bridge: checkBridge(nic.bridge) }),
      model,
    ]);
  }
  throw new DomainXmlError('DOMAIN_XML_BAD_SPEC', `${what}: kind must be user or bridge`);
}
