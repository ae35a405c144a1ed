// The typed description of a VM that roost turns into libvirt domain XML (build.ts) and reads back (parse.ts).
// A leaf module on purpose (Lima style): every layer may import these types without pulling in any code.

export type Accel = 'kvm' | 'tcg';
export type Firmware = 'uefi' | 'bios';
export type MachineType = 'q35' | 'pc';
export type DiskFormat = 'qcow2' | 'raw';
export type DiskBus = 'virtio' | 'sata' | 'scsi' | 'ide';
export type DiskDevice = 'disk' | 'cdrom';
export type PortProto = 'tcp' | 'udp';

/** Default host address for forwarded ports: loopback, so other machines cannot reach the guest by accident. */
export const DEFAULT_PORT_ADDRESS = '127.0.0.1';

/** Namespace of roost's `<metadata>` child. Matched by URI, never by prefix (libvirt keeps the prefix it was given). */
export const ROOST_XMLNS = 'https://roost.dev/xmlns/vm/1';
export const ROOST_XMLNS_PREFIX = 'roost';

/** The virtio-serial port name the QEMU guest agent listens on. */
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

export type BootSpec =
  | { kind: 'disk' }
  /** Direct kernel boot: QEMU loads the kernel itself (what the tiny test guest and `--kernel` use). */
  | { kind: 'kernel'; kernel: string; initrd?: string; cmdline?: string }
  /** Install from an ISO: a read-only cdrom drive that boots first, then the disks. */
  | { kind: 'cdrom'; iso: string };

export interface DiskSpec {
  path: string;
  format: DiskFormat;
  /** Default: virtio for disks, sata (q35) or ide (pc) for cdroms. */
  bus?: DiskBus;
  /** Default: next free name for the bus (vda, vdb…; sda…; hda…). */
  target?: string;
  readonly?: boolean;
  /** Default 'disk'. A cdrom is always read-only. */
  device?: DiskDevice;
}

/**
 * One forwarded range: host ports hostStart..hostEnd (inclusive) → guest ports guestStart.. (same length).
 * libvirt spells it `<portForward proto address><range start end to/></portForward>`.
 */
export interface PortForwardSpec {
  proto: PortProto;
  /** Host address to listen on. Builder default DEFAULT_PORT_ADDRESS; '' means every host address (no attribute). */
  address?: string;
  hostStart: number;
  /** Last host port of a range; absent for a single port. */
  hostEnd?: number;
  guestStart: number;
}

/**
 * What a guest may reach on the host itself. passt maps the guest's gateway address to the host's loopback, so
 * with 'loopback' a service bound to 127.0.0.1 on the host answers the guest at its gateway address. 'none'
 * would start passt with --no-map-gw; libvirt (through 11.3 at least) starts passt with a fixed set of options
 * and no domain XML for that one, so a passt NIC can only be 'loopback' (HOST_ACCESS_MODES) and 'none' is
 * refused (hostAccessProblem). A bridged NIC never reaches the host's loopback (the kernel drops packets for
 * 127.0.0.0/8 that arrive on a bridge), only the host's address on the bridge.
 */
export type HostAccess = 'loopback' | 'none';

/** User-mode networking through passt (the session connection's way out; ports forwarded from the host). */
export interface UserNicSpec {
  kind: 'user';
  ports: PortForwardSpec[];
  mac?: string;
  /** Default 'loopback', the only mode libvirt can give passt today. */
  hostAccess?: HostAccess;
}

/** A host bridge (on session: through the setuid qemu-bridge-helper and /etc/qemu/bridge.conf). */
export interface BridgeNicSpec {
  kind: 'bridge';
  bridge: string;
  mac?: string;
}

export type NicSpec = UserNicSpec | BridgeNicSpec;

/** How a shared folder reaches the guest: virtio-9p (QEMU serves it) or virtiofs (libvirt runs virtiofsd). */
export type FilesystemType = '9p' | 'virtiofs';

/** A host directory shared with the guest: a `<filesystem>` device (filesystems.ts). */
export interface FilesystemSpec {
  type: FilesystemType;
  /** Absolute host directory. */
  source: string;
  /** The mount tag the guest mounts it by (at most 31 bytes). */
  tag: string;
  readonly?: boolean;
  /** virtiofs: the virtiofsd program; default libvirt's own choice. */
  binary?: string;
}

/** Where the guest mounts a shared folder, recorded in roost's metadata (the `<filesystem>` has only the tag). */
export interface MountMetadata {
  tag: string;
  /** Absolute directory in the guest. */
  guestDir: string;
  /** The host directory as the user gave it, when it differs from the `<filesystem>`'s resolved one. */
  hostDirGiven?: string;
}

/** What roost records about a VM inside the domain itself, so nothing is lost when only libvirt remains. */
export interface RoostMetadata {
  imageRef?: string;
  sshUser?: string;
  sshKeyPath?: string;
  /** e.g. 'roost 0.1.0'. */
  createdBy: string;
  /** ISO 8601. */
  createdAt?: string;
  /** Forward ports the guest opens, automatically. */
  autoPorts?: boolean;
  /** Guest directories of the VM's shared folders, by tag. */
  mounts?: MountMetadata[];
  /** Read only: values in the domain's metadata that failed their check and were left out (metadata.ts). */
  refused?: { field: string; reason: string }[];
}

export interface VmSpec {
  /** Checked by the caller (CLI rules); the builder only needs it to be expressible in XML. */
  name: string;
  uuid?: string;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  firmware: Firmware;
  /** Default q35. */
  machine?: MachineType;
  boot: BootSpec;
  disks: DiskSpec[];
  /** NICs in order; [] for none. */
  network: NicSpec[];
  /** Serial console log file (absolute path in the user's state dir). */
  serialLog?: string;
  /** VNC on a UNIX socket only: a TCP port would be reachable by every local user. */
  vnc: { socket: string } | null;
  guestAgent: boolean;
  /** Default 'virtio'. */
  memballoon?: 'virtio' | 'none';
  /** Shared folders; virtiofs ones also give the domain shared memory backing. */
  filesystems?: FilesystemSpec[];
  /** Default true: libvirt reads the guest CPU's features in 3 QMP calls, not one per property (quick-cpu-probe.ts). */
  quickCpuProbe?: boolean;
  roost: RoostMetadata;
}
