// zod schemas of every wire shape in src/shared, for tests only (the build leaves testing.ts files out, and the CLI
// never loads zod to print): contract.test.ts holds the docs' examples and each schema's inferred type to the
// TypeScript types, and tests of the code that builds an answer parse what it built. Strict: no unknown field.
import { z } from 'zod';

const obj = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape);
const str = z.string();
const num = z.number();
const bool = z.boolean();
const strs = z.array(str);

const VmState = z.enum([
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
]);
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
};
export const VmSummary = obj(summaryFields);
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
};
export const VmDetails = obj(detailsFields);
const AddressSource = z.enum(['agent', 'libvirt-agent', 'libvirt-arp', 'lease-file', 'arp-table']);
export const VmInfo = obj({
  ...detailsFields,
  ip: str.nullable(),
  ipSource: obj({ source: AddressSource, where: str.nullable() }).nullable(),
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

const VmLifecycleEvent = obj({
  type: z.literal('vm'),
  event: z.enum([
    'defined',
    'undefined',
    'started',
    'suspended',
    'resumed',
    'stopped',
    'shutdown',
    'pmsuspended',
    'crashed',
  ]),
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

const HostEntry = obj({ name: str, uri: str });
const HostVms = obj({
  host: str,
  uri: str,
  vms: z.array(VmSummary).nullable(),
  error: obj({ code: str, message: str, hint: str.optional() }).nullable(),
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
  VmAddresses,
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
  HostEntry,
  HostVms,
} as const;
