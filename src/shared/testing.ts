// zod schemas of every wire shape in src/shared, for tests only (the build leaves testing.ts files out, and the CLI
// never loads zod to print): contract.test.ts holds the docs' examples and each schema's inferred type to the
// TypeScript types, and tests of the code that builds an answer parse what it built. Strict: no unknown field.
import * as z from 'zod';
import { LIFECYCLE_NAMES } from './events.js';
import { VM_STATES } from './vms.js';

const obj = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape);
const str = z.string();
const num = z.number();
const bool = z.boolean();
const strs = z.array(str);

const VmState = z.enum(VM_STATES);
const summaryFields = {
  name: str,
  uuid: str,
  state: VmState,
  accel: str,
  cpus: num,
  memoryMiB: num,
  ports: strs,
  networks: strs,
  managedBy: z.enum(['roost', 'other']),
  autostart: bool,
};
export const VmSummary = obj(summaryFields);
const MountRow = obj({
  tag: str,
  type: str,
  hostDir: str,
  hostDirGiven: str.nullable(),
  guestDir: str.nullable(),
  mode: z.enum(['ro', 'rw']),
  accessmode: str,
  state: z.enum(['active', 'next-start', 'removed-at-next-start', 'configured']),
});
export const MountList = obj({ name: str, running: bool, mounts: z.array(MountRow) });
export const MountChangeResult = obj({
  name: str,
  mount: MountRow,
  applied: z.enum(['stopped', 'next-start']),
  reason: str.optional(),
  guestCommand: str.optional(),
  warnings: strs,
});
const CreatedMount = obj({
  tag: str,
  type: z.enum(['9p', 'virtiofs']),
  hostDir: str,
  guestDir: str,
  mode: z.enum(['ro', 'rw']),
  bySeed: bool,
  guestCommand: str,
});
const detailsFields = {
  ...summaryFields,
  id: num.nullable(),
  disks: z.array(
    obj({
      path: str.nullable(),
      format: str.nullable(),
      device: str,
      target: str.nullable(),
      readonly: bool,
    }),
  ),
  boot: str,
  firmware: str,
  serialLog: str.nullable(),
  vncSocket: str.nullable(),
  guestAgent: bool,
  roost: obj({
    imageRef: str.optional(),
    sshUser: str.optional(),
    createdBy: str.optional(),
    createdAt: str.optional(),
  }).nullable(),
  mounts: z.array(MountRow),
};
export const VmDetails = obj(detailsFields);
const AddressSource = z.enum(['agent', 'libvirt-agent', 'libvirt-arp', 'lease-file', 'arp-table']);
export const VmInfo = obj({
  ...detailsFields,
  ip: str.nullable(),
  ipSource: obj({ source: AddressSource, where: str.nullable() }).nullable(),
  snapshots: obj({ count: num, current: str.nullable() }),
});
export const CreatedVm = obj({
  name: str,
  uuid: str,
  state: z.enum(['running', 'shutoff']),
  accel: str,
  accelReason: str,
  disk: str.nullable(),
  ports: strs,
  sshUser: str.nullable(),
  warnings: strs,
  mounts: z.array(CreatedMount),
  waitedMs: num.nullable(),
});
export const StartedVm = obj({ name: str, alreadyRunning: bool, waitedMs: num.nullable() });
export const StoppedVm = obj({ name: str, alreadyStopped: bool, forced: bool });
const RestartedVm = obj({ name: str, restarted: z.literal(true) });
const EditedVm = obj({ name: str, changed: strs, pendingRestart: bool });
const RemovedVm = obj({
  name: str,
  destroyed: bool,
  deletedDisks: strs,
  keptDisks: strs,
  leftoversOnly: bool.optional(),
});
const VmLog = obj({ name: str, kind: z.enum(['serial', 'qemu']), path: str, text: str });
const VmLogPath = obj({ path: str });
const SshCommand = obj({ argv: strs });

export const PortList = obj({
  name: str,
  running: bool,
  mac: str.nullable(),
  ports: z.array(
    obj({
      spec: str,
      proto: z.enum(['tcp', 'udp']),
      address: str,
      host: str,
      guest: str,
      state: z.enum(['active', 'next-start', 'removed-at-next-start', 'configured', 'auto']),
      exposed: bool,
      tunnel: str.nullable(),
    }),
  ),
});
export const PortChangeResult = obj({
  name: str,
  added: strs,
  removed: strs,
  already: strs,
  applied: z.enum(['unchanged', 'stopped', 'live-update', 'replug', 'next-start']),
  reason: str.optional(),
  recovered: str.optional(),
  interruptedBy: str.optional(),
  nicGapMs: num.optional(),
  guestBackMs: num.nullable().optional(),
  warnings: strs,
  ports: strs,
});
export const VmAddresses = obj({
  name: str,
  state: VmState,
  ip: str.nullable(),
  nics: z.array(
    obj({
      mac: str.nullable(),
      network: str,
      addresses: z.array(
        obj({
          ip: str,
          family: z.enum(['ipv4', 'ipv6']),
          prefix: num.optional(),
          mac: str,
          source: AddressSource,
          where: str.optional(),
        }),
      ),
      endpoints: strs.optional(),
      tried: z.array(
        obj({
          source: AddressSource,
          result: z.enum(['found', 'none', 'skipped', 'error']),
          detail: str.optional(),
        }),
      ),
    }),
  ),
});

const snapshotFields = {
  name: str,
  description: str.nullable(),
  createdAt: str.nullable(),
  state: str.nullable(),
  parent: str.nullable(),
  kind: z.enum(['internal', 'external']),
  memory: bool,
  current: bool,
};
export const SnapshotList = obj({
  name: str,
  current: str.nullable(),
  snapshots: z.array(obj(snapshotFields)),
});
export const CreatedSnapshot = obj({ vm: str, ...snapshotFields, kindReason: str, quiesced: bool });
export const RevertedSnapshot = obj({ vm: str, snapshot: str, running: bool });
export const RemovedSnapshot = obj({ vm: str, snapshot: str });
export const ClonedVm = obj({
  name: str,
  source: str,
  uuid: str,
  linked: bool,
  state: z.literal('shutoff'),
  disks: strs,
  ports: strs,
  chosenPorts: strs,
  stoppedSource: bool,
  sshUser: str.nullable(),
  warnings: strs,
});
export const AutostartEnabled = obj({
  name: str,
  unit: str,
  path: str,
  atBoot: bool,
  lingerCommand: str.nullable(),
  warnings: strs,
});
export const AutostartDisabled = obj({ name: str, removed: bool });
export const AutostartList = obj({
  vms: strs,
  systemd: obj({ installed: bool, running: bool, userManager: bool, linger: bool }),
});

export const DoctorReport = obj({
  checks: z.array(
    obj({
      id: str,
      title: str,
      status: z.enum(['ok', 'warn', 'fail']),
      detail: str,
      fix: str.optional(),
    }),
  ),
  ok: bool,
});
export const ConnectionInfo = obj({
  roostVersion: str,
  uri: str,
  daemonUri: str,
  scope: z.enum(['session', 'system']),
  transport: z.enum(['unix', 'ssh']),
  socket: str.nullable(),
  hostname: str,
  libvirtVersion: str,
  qemuVersion: str,
  limits: strs,
});
const ImageListing = obj({
  name: str,
  aliases: strs,
  os: str,
  user: str,
  firmware: z.enum(['uefi', 'bios']),
  origin: z.enum(['builtin', 'config', 'import']),
  importOnly: bool,
  cached: bool,
  path: str.optional(),
  size: num.optional(),
  virtualSize: num.optional(),
  url: str.optional(),
  minDiskGiB: num.optional(),
  minMemoryMiB: num.optional(),
  checksum: str.optional(),
  notes: str.optional(),
});
const RemovedImage = obj({ name: str, removed: strs });
const PullStarted = obj({ ref: str, pulling: z.literal(true) });
const BridgeSetupReport = obj({
  bridge: str,
  user: str.nullable(),
  steps: z.array(
    obj({
      id: str,
      title: str,
      done: bool,
      detail: str,
      commands: z.array(obj({ argv: strs, input: str.optional() })),
      refused: str.optional(),
    }),
  ),
  applied: z.array(strs),
});

const nnum = num.nullable();
const VmIoStats = obj({ inBytes: num, outBytes: num, inPerSecond: nnum, outPerSecond: nnum });
export const VmStats = obj({
  name: str,
  uuid: str,
  state: VmState,
  time: num,
  vcpus: nnum,
  cpuSeconds: num,
  cpuPercent: nnum,
  memory: obj({ currentMiB: nnum, maxMiB: nnum, usedMiB: nnum, rssMiB: nnum }),
  disk: VmIoStats,
  net: VmIoStats,
});
export const VmStatsHistory = obj({ name: str, intervalMs: num, samples: z.array(VmStats) });
export const StatsEvent = obj({ type: z.literal('stats'), time: num, vms: z.array(VmStats) });

const VmLifecycleEvent = obj({
  type: z.literal('vm'),
  event: z.enum(LIFECYCLE_NAMES),
  detail: str,
  name: str,
  uuid: str,
  time: num,
  vm: VmDetails.nullable().optional(),
});
const CreateEvent = obj({ type: z.literal('create'), name: str, phase: str, time: num });
const PortsEvent = obj({ type: z.literal('ports'), name: str, ports: strs, time: num });
const ImageEvent = obj({
  type: z.literal('image'),
  ref: str,
  phase: str,
  receivedBytes: num.optional(),
  totalBytes: num.optional(),
  message: str.optional(),
  time: num,
});
const ResyncEvent = obj({ type: z.literal('resync'), reason: str, time: num });
export const RoostEvent = z.discriminatedUnion('type', [
  VmLifecycleEvent,
  CreateEvent,
  PortsEvent,
  ImageEvent,
  ResyncEvent,
  StatsEvent,
]);

export const ErrorBody = obj({
  error: obj({ code: str, message: str, hint: str.optional(), detail: str.optional() }),
});
const SessionGranted = obj({ session: str });
const LinkCreated = obj({ url: str, expiresAt: str, opener: str.nullable() });
const TicketGranted = obj({ ticket: str, expiresAt: str });
const WebServerInfo = obj({
  url: str,
  origin: str,
  port: num,
  tokenFile: str.nullable(),
  unix: str.nullable(),
});
const WebLinkInfo = obj({ url: str, expiresAt: str, origin: str, port: num });
export const CopyResult = obj({
  vm: str,
  direction: z.enum(['to-guest', 'from-guest']),
  via: z.enum(['ssh', 'agent']),
  sources: strs,
  destination: str,
  recursive: bool,
  preserved: bool,
  bytes: num,
  elapsedMs: num,
});

const ApplyChange = obj({
  field: str,
  from: str.nullable(),
  to: str.nullable(),
  when: z.enum(['live', 'next-start']),
});
const ApplyResult = obj({
  files: strs,
  dryRun: bool,
  vms: z.array(
    obj({
      name: str,
      file: str,
      action: z.enum(['create', 'change', 'unchanged', 'remove']),
      changes: z.array(ApplyChange),
      notes: strs,
      outcome: z.enum(['planned', 'as-asked', 'as-it-was', 'partly']),
      error: str.nullable(),
    }),
  ),
  ok: bool,
});
const ExportedFile = obj({ name: str, format: z.literal('roost'), text: str, warnings: strs });
const TemplateInfo = obj({ name: str, source: z.enum(['shipped', 'user']), path: str, boots: str });

const HostEntry = obj({ name: str, uri: str });
const HostVms = obj({
  host: str,
  uri: str,
  vms: z.array(VmSummary).nullable(),
  error: obj({ code: str, message: str, hint: str.optional() }).nullable(),
});

const HostVmEvent = obj({ ...VmLifecycleEvent.shape, host: str });
const HostStateEvent = obj({ ...HostVms.shape, type: z.literal('host'), time: num });
const HostEvent = z.discriminatedUnion('type', [HostVmEvent, HostStateEvent]);
const HostsReadyMessage = obj({ type: z.literal('ready'), hosts: z.array(HostVms) });

const ReadyMessage = obj({
  type: z.literal('ready'),
  vms: z.array(VmSummary).optional(),
  stats: z.array(VmStats).optional(),
});

/** Every shape a doc example may name; an array of one is `Name[]`. */
export const SHAPES = {
  VmSummary,
  VmInfo,
  CreatedVm,
  StartedVm,
  StoppedVm,
  RestartedVm,
  EditedVm,
  RemovedVm,
  VmLog,
  VmLogPath,
  SshCommand,
  PortList,
  PortChangeResult,
  MountList,
  MountChangeResult,
  VmAddresses,
  SnapshotList,
  CreatedSnapshot,
  RevertedSnapshot,
  RemovedSnapshot,
  ClonedVm,
  AutostartEnabled,
  AutostartDisabled,
  AutostartList,
  DoctorReport,
  ConnectionInfo,
  ImageListing,
  RemovedImage,
  PullStarted,
  BridgeSetupReport,
  RoostEvent,
  ErrorBody,
  SessionGranted,
  LinkCreated,
  TicketGranted,
  WebServerInfo,
  WebLinkInfo,
  CopyResult,
  VmStats,
  VmStatsHistory,
  StatsEvent,
  ApplyResult,
  ExportedFile,
  TemplateInfo,
  HostEntry,
  HostVms,
  HostEvent,
  HostsReadyMessage,
  ReadyMessage,
} as const;
