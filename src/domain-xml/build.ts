// VmSpec → libvirt domain XML (formatdomain). The document is built as a tree and serialised by xml.ts, so every
// value is escaped in one place. What is written and why:
//  - <domain type='kvm'> with a working KVM, else type='qemu' (TCG) — the accel probe decides (src/host/accel.ts);
//  - q35 by default: PCIe, and no IDE, hence SATA for cdroms;
//  - UEFI through `<os firmware='efi'>`: libvirt picks the OVMF build from /usr/share/qemu/firmware/*.json and,
//    on the session connection, creates the NVRAM copy itself in ~/.config/libvirt/qemu/nvram/NAME_VARS.fd (the
//    user's own dir). Secure boot is turned off in the request: the secure builds need SMM, which is slow under
//    TCG, and roost's images don't need it (buildOs says how);
//  - BIOS (SeaBIOS) is simply no firmware attribute;
//  - CPU: host-passthrough under KVM; `maximum` under TCG (QEMU's `-cpu max`), because the default qemu64 lacks
//    x86-64-v2, which current distributions require;
//  - serial console on a pty with a log file, a console on top of it (what `virsh console` and roost use);
//  - VNC on a UNIX socket: a TCP port on localhost is reachable by every local user;
//  - the guest agent channel, a virtio RNG (guests boot without waiting for entropy), and a memballoon;
//  - one QEMU-namespace capability override that spares libvirt a QMP round trip per CPU property at every
//    start (quick-cpu-probe.ts explains it).
import { checkDisk, checkSpec } from './check.js';
import { assignTargets, buildDisk, buildInterface } from './devices.js';
import { buildFilesystem, buildSharedMemoryBacking, needsSharedMemory } from './filesystems.js';

export { HOST_ACCESS_MODES, hostAccessProblem } from './devices.js';
import { buildRoostElement } from './metadata.js';
import { buildQuickCpuProbe, QEMU_XMLNS_ATTR } from './quick-cpu-probe.js';
import { GUEST_AGENT_CHANNEL, type MachineType, type VmSpec } from './spec.js';
import { element, indent, serializeXml, type XmlElement } from './xml.js';

/** Builds the domain as a tree (for callers that want to adjust it before serialising). */
export function buildDomainTree(spec: VmSpec): XmlElement {
  checkSpec(spec);
  const machine: MachineType = spec.machine ?? 'q35';
  const quickCpuProbe = spec.quickCpuProbe ?? true;
  const type = spec.accel === 'kvm' ? 'kvm' : 'qemu';
  return element('domain', { type, ...(quickCpuProbe ? QEMU_XMLNS_ATTR : {}) }, [
    element('name', {}, [spec.name]),
    spec.uuid !== undefined && element('uuid', {}, [spec.uuid.toLowerCase()]),
    element('metadata', {}, [buildRoostElement(spec.roost)]),
    element('memory', { unit: 'MiB' }, [String(spec.memoryMiB)]),
    element('currentMemory', { unit: 'MiB' }, [String(spec.memoryMiB)]),
    needsSharedMemory(spec.filesystems) && buildSharedMemoryBacking(),
    element('vcpu', { placement: 'static' }, [String(spec.cpus)]),
    buildOs(spec, machine),
    element('features', {}, [element('acpi'), element('apic')]),
    spec.accel === 'kvm'
      ? element('cpu', { mode: 'host-passthrough', check: 'none', migratable: 'on' })
      : element('cpu', { mode: 'maximum', check: 'none', migratable: 'on' }),
    element('clock', { offset: 'utc' }, [
      element('timer', { name: 'rtc', tickpolicy: 'catchup' }),
      element('timer', { name: 'pit', tickpolicy: 'delay' }),
      element('timer', { name: 'hpet', present: 'no' }),
    ]),
    element('on_poweroff', {}, ['destroy']),
    element('on_reboot', {}, ['restart']),
    element('on_crash', {}, ['destroy']),
    buildDevices(spec, machine),
    quickCpuProbe && buildQuickCpuProbe(),
  ]);
}

/** Builds the domain XML, indented like libvirt's own output. Throws DomainXmlError('DOMAIN_XML_BAD_SPEC'). */
export function buildDomainXml(spec: VmSpec): string {
  return serializeXml(indent(buildDomainTree(spec), 0)) + '\n';
}

/**
 * `<os firmware='efi'>` alone lets libvirt fill in the loader and the NVRAM from the firmware descriptors (roost
 * never guesses their paths). Left to itself it takes the highest-priority descriptor, the secure build with
 * Microsoft's keys, and turns SMM on; the two `<feature enabled='no'>` lines make it take plain OVMF instead. The
 * NVRAM file is copied from its template at the first start, and a plain undefine then fails: `roost rm` passes
 * the NVRAM flag.
 */
function buildOs(spec: VmSpec, machine: MachineType): XmlElement {
  const boot = spec.boot;
  const efi = spec.firmware === 'uefi';
  return element('os', { firmware: efi ? 'efi' : undefined }, [
    element('type', { arch: 'x86_64', machine }, ['hvm']),
    efi &&
      element('firmware', {}, [
        element('feature', { enabled: 'no', name: 'enrolled-keys' }),
        element('feature', { enabled: 'no', name: 'secure-boot' }),
      ]),
    ...(boot.kind === 'kernel'
      ? [
          element('kernel', {}, [boot.kernel]),
          boot.initrd !== undefined && element('initrd', {}, [boot.initrd]),
          boot.cmdline !== undefined && element('cmdline', {}, [boot.cmdline]),
        ]
      : []),
    boot.kind === 'cdrom' && element('boot', { dev: 'cdrom' }),
    boot.kind !== 'kernel' && element('boot', { dev: 'hd' }),
  ]);
}

function buildDevices(spec: VmSpec, machine: MachineType): XmlElement {
  // The install ISO comes first among the drives: parse.ts takes the first cdrom as the boot ISO.
  const drives = [
    ...(spec.boot.kind === 'cdrom' ? [{ path: spec.boot.iso, format: 'raw', device: 'cdrom' } as const] : []),
    ...spec.disks,
  ];
  drives.forEach((disk, i) =>
    checkDisk(disk, i === 0 && spec.boot.kind === 'cdrom' ? 'ISO' : `disk ${i + 1}`),
  );
  const targets = assignTargets(drives, machine);
  const disks = drives.map((disk, i) => buildDisk(disk, machine, targets[i] as string));
  return element('devices', {}, [
    ...disks,
    // SCSI drives hang off virtio-scsi: every cloud kernel has its driver, while Debian's cloud kernel has no
    // AHCI at all, so a cloud-init seed on q35's SATA is invisible to it (cloud-init falls back to DataSourceNone).
    drives.some((d) => 'bus' in d && d.bus === 'scsi') &&
      element('controller', { type: 'scsi', model: 'virtio-scsi' }),
    ...(spec.filesystems ?? []).map((fs, i) => buildFilesystem(fs, `filesystem ${i + 1}`)),
    ...spec.network.map((nic, i) => buildInterface(nic, `NIC ${i + 1}`)),
    element('serial', { type: 'pty' }, [
      spec.serialLog !== undefined && element('log', { file: spec.serialLog, append: 'on' }),
      element('target', { port: '0' }),
    ]),
    element('console', { type: 'pty' }, [element('target', { type: 'serial', port: '0' })]),
    spec.guestAgent &&
      element('channel', { type: 'unix' }, [
        element('target', { type: 'virtio', name: GUEST_AGENT_CHANNEL }),
      ]),
    spec.vnc !== null &&
      spec.vnc !== undefined &&
      element('graphics', { type: 'vnc' }, [element('listen', { type: 'socket', socket: spec.vnc.socket })]),
    // Without it libvirt adds a cirrus card, a legacy device QEMU itself discourages;
    // virtio (virtio-vga as the primary card) works with SeaBIOS, OVMF and Linux's virtio-gpu driver.
    spec.vnc !== null &&
      spec.vnc !== undefined &&
      element('video', {}, [element('model', { type: 'virtio' })]),
    element('rng', { model: 'virtio' }, [element('backend', { model: 'random' }, ['/dev/urandom'])]),
    element('memballoon', { model: spec.memballoon ?? 'virtio' }),
  ]);
}
