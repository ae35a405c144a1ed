// The steps of `roost create` after its input was checked (create.ts runs them in order): check the host,
// resolve the image, sizes, the ssh forward and NICs, the spec. The steps that make something (disk, seed,
// define, start) and register their undo are in create-make.ts.
import { resolve as resolvePath } from 'node:path';
import type { DiskSpec, Firmware, HostAccess, NicSpec, VmSpec } from '../domain-xml/spec.js';
import { RoostError, UsageError } from '../errors.js';
import { ImageNotFoundError } from '../images/errors.js';
import type { ImageEntry } from '../images/types.js';
import { detectAccel, type AccelDecision } from '../host/accel.js';
import { isNotFound } from '../libvirt/errors.js';
import { afterCallsSent } from '../libvirt/calls-sent.js';
import {
  canBind,
  checkForwards,
  listenerHolds,
  type ExistingForward,
  type RemoteListeners,
} from '../net/port-check.js';
import { toPortForwardSpec } from '../net/ports.js';
import type { PortForward } from '../net/port-spec.js';
import { ensurePrivateDir } from '../paths.js';
import { VERSION } from '../version.js';
import { isRemote, type VmContext } from './context.js';
import type { Checked, CreateRequest } from './create.js';
import { existingForwards } from './forwards.js';
import { randomMac } from './input.js';
import { endStrayProcesses, qemuRunDir } from './leftovers.js';
import type { MountPlan } from './mounts.js';

export interface BaseImage {
  path: string;
  format: 'qcow2' | 'raw';
  virtualSize: number;
}

/** Login user the seed creates when the image names none. */
export const DEFAULT_CLOUD_USER = 'roost';

// cloud-init's modules (and their YAML library) load only for a VM that gets a seed or a --cloud-init file.
export const cloudInitModule = () => import('../cloud-init/index.js');

export function nameTakenError(name: string): UsageError {
  return new UsageError('NAME_TAKEN', `a VM named '${name}' already exists`, {
    hint: `pick another name, or remove it first: roost rm ${name}`,
  });
}

// --- check the host --------------------------------------------------------------------------------------------

/**
 * What the checks need from the daemon, asked at once: whether the name is free and every other VM's forwards.
 * Passt and QEMU processes left by a daemon that died while starting a VM are ended first: they would hold the
 * host ports this VM is about to forward.
 */
export async function checkHost(ctx: VmContext, c: Checked): Promise<HostCheck> {
  const { client } = ctx;
  const runDir = qemuRunDir(ctx);
  const [taken, existing, remote] = await Promise.all([
    client.lookupDomain(c.name).then(
      () => true,
      (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
    ),
    existingForwards(client),
    // Over ssh the forwards listen on the remote host: its listeners are asked (a bind probe here would test
    // this host's ports), in the ssh call that also tells where the VM's files go there.
    isRemote(ctx) ? import('./remote.js').then((r) => r.remotePortsOf(ctx)) : undefined,
    // The scan of /proc blocks: it runs once the calls above are sent, while the daemon answers them.
    runDir ? afterCallsSent().then(() => endStrayProcesses(ctx, runDir)) : undefined,
  ]);
  if (taken) throw nameTakenError(c.name);
  await checkForwards(c.ports, { existing, remote });
  return { existing, remote };
}

/** What checkHost found: other VMs' forwards, and over ssh the remote host's listening sockets. */
export interface HostCheck {
  existing: ExistingForward[];
  remote?: RemoteListeners;
}

// --- the image -------------------------------------------------------------------------------------------------

/** A catalogue image, downloaded and verified if not cached (only once every other check passed). */
export async function resolveCatalogImage(
  ctx: VmContext,
  ref: string,
  req: CreateRequest,
  signal: AbortSignal | undefined,
): Promise<{ image: BaseImage; entry: ImageEntry | undefined }> {
  // Loaded only here: the catalogue brings a YAML parser and zod, much code that a VM made from a local file
  // never needs and whose loading would be a large part of `roost create`'s start-up.
  const { resolveImage } = await import('../images/store.js');
  const resolved = await resolveImage(ref, {
    paths: ctx.paths,
    onProgress: req.onPullProgress,
    signal,
  }).catch((e: unknown) => {
    if (e instanceof ImageNotFoundError) throw new UsageError(e.code, e.message, { hint: e.hint, cause: e });
    throw e;
  });
  return {
    image: { path: resolved.path, format: resolved.format, virtualSize: resolved.virtualSize },
    entry: resolved.entry,
  };
}

// --- sizes -----------------------------------------------------------------------------------------------------

export interface Sizes {
  memoryMiB: number;
  diskBytes?: number;
  firmware: Firmware;
}

/** Memory, disk and firmware once the image is known: at least what the image needs, unless the user said. */
export function planSizes(
  c: Checked,
  req: CreateRequest,
  image: BaseImage | undefined,
  entry: ImageEntry | undefined,
): Sizes {
  let memoryMiB = c.memoryMiB;
  let diskBytes = c.diskBytes;
  if (image) {
    if (diskBytes !== undefined && diskBytes < image.virtualSize) {
      if (c.diskGiven) {
        throw new UsageError(
          'DISK_TOO_SMALL',
          `--disk ${req.disk} is smaller than the image (${gib(image.virtualSize)} GiB)`,
          { hint: 'give a larger --disk, or leave it out to use the image size' },
        );
      }
      diskBytes = image.virtualSize;
    }
    if (entry && !c.diskGiven) diskBytes = Math.max(diskBytes ?? 0, entry.minDiskGiB * 1024 ** 3);
    if (entry && req.memory === undefined) memoryMiB = Math.max(memoryMiB, entry.minMemoryMiB);
  }
  const firmware = req.firmware ?? (req.kernel ? 'bios' : (entry?.firmware ?? c.firmware));
  return { memoryMiB, diskBytes, firmware };
}

function gib(bytes: number): string {
  return (bytes / 1024 ** 3).toFixed(1);
}

// --- the ssh forward and the NICs ------------------------------------------------------------------------------

const SSH_PORT_FROM = 2222;

/**
 * A cloud image is reached with ssh: forward a free host port to guest port 22 unless the user forwarded one.
 * Returns every forward and the one roost added.
 */
export async function planSshForward(
  c: Checked,
  withSeed: boolean,
  { existing, remote }: HostCheck,
): Promise<{ ports: PortForward[]; addedPorts: PortForward[] }> {
  const ports = [...c.ports];
  const addedPorts: PortForward[] = [];
  const forwardsSsh = ports.some(
    (p) => p.proto === 'tcp' && p.guestStart <= 22 && 22 <= p.guestStart + p.hostEnd - p.hostStart,
  );
  if (withSeed && c.nics.some((n) => n.kind === 'user') && !forwardsSsh) {
    const port = await freeSshPort(
      existing.map((e) => e.forward),
      remote,
    );
    const fwd: PortForward = {
      proto: 'tcp',
      address: '127.0.0.1',
      hostStart: port,
      hostEnd: port,
      guestStart: 22,
    };
    ports.push(fwd);
    addedPorts.push(fwd);
  }
  return { ports, addedPorts };
}

/**
 * A host port for a VM's ssh forward: from 2222 up, not forwarded to another VM and free on the host passt runs
 * on (this one, probed; a remote one, by its listeners).
 */
async function freeSshPort(taken: PortForward[], remote: RemoteListeners | undefined): Promise<number> {
  const free = (port: number) =>
    remote
      ? !remote.listeners.some((l) => listenerHolds(l, 'tcp', '127.0.0.1', port))
      : canBind('tcp', '127.0.0.1', port);
  for (let port = SSH_PORT_FROM; port < SSH_PORT_FROM + 1000; port++) {
    if (taken.some((f) => f.proto === 'tcp' && f.hostStart <= port && port <= f.hostEnd)) continue;
    if (await free(port)) return port;
  }
  throw new RoostError(
    'NO_FREE_PORT',
    `no free host port for ssh between ${SSH_PORT_FROM} and ${SSH_PORT_FROM + 999}`,
    { hint: 'forward one yourself: --port 127.0.0.1:PORT:22' },
  );
}

/** The NICs with their MACs (the seed's network-config matches them) and the user NIC's forwards. */
export function nicsWithMacs(c: Checked, ports: PortForward[], hostAccess?: HostAccess): NicSpec[] {
  return c.nics.map((n) =>
    n.kind === 'user'
      ? { kind: 'user', mac: randomMac(), ports: ports.map(toPortForwardSpec), hostAccess }
      : { ...n, mac: randomMac() },
  );
}

export async function chooseAccel(want: 'auto' | 'kvm' | 'tcg', cacheDir: string): Promise<AccelDecision> {
  if (want === 'auto') return detectAccel({ cacheFile: `${cacheDir}/accel.json` });
  return { accel: want, reason: `--accel ${want} given`, bootId: '', cached: false };
}

// --- the login -----------------------------------------------------------------------------------------------

export interface Login {
  sshUser?: string;
  sshKey?: string;
  /** Where the seed goes (and the VM reads it). */
  seedPath?: string;
  /** Puts the seed in place: once the name is claimed, so that a losing create never touches a winner's seed. */
  placeSeed?: () => void;
  /** Where the seed was written before placeSeed (a remote create uploads it from there instead). */
  writtenSeed?: string;
}

// --- the spec --------------------------------------------------------------------------------------------------

export function buildSpec(
  ctx: VmContext,
  c: Checked,
  req: CreateRequest,
  sizes: Sizes,
  accel: AccelDecision,
  nics: NicSpec[],
  diskPath: string | undefined,
  login: Login,
  shares?: MountPlan,
  remote?: { dir: string; sockets: string },
): VmSpec {
  const { paths } = ctx;
  const disks: DiskSpec[] = [];
  if (diskPath) disks.push({ path: diskPath, format: 'qcow2' });
  // On virtio-scsi: cloud kernels (Debian's has no AHCI) all see it there; q35's default would be SATA.
  if (login.seedPath) {
    disks.push({ path: login.seedPath, format: 'raw', device: 'cdrom', readonly: true, bus: 'scsi' });
  }
  // A remote VM's serial log is in roost's pool there (remote.ts), its VNC socket in the remote runtime dir.
  const logs = remote ? remote.dir : ensurePrivateDir(paths.logs);
  const sockets = remote ? remote.sockets : ensurePrivateDir(paths.sockets);
  return {
    name: c.name,
    // Chosen here, not by libvirt: a rollback after the daemon died mid-define can tell this VM from another
    // of the same name.
    uuid: randomUuid(),
    accel: accel.accel,
    memoryMiB: sizes.memoryMiB,
    cpus: c.cpus,
    firmware: sizes.firmware,
    machine: 'q35',
    boot: c.boot,
    disks,
    network: nics,
    ...(shares ? { filesystems: shares.filesystems } : {}),
    serialLog: `${logs}/${c.name}.serial.log`,
    vnc: { socket: `${sockets}/${c.name}.vnc` },
    guestAgent: true,
    roost: {
      createdBy: `roost ${VERSION}`,
      createdAt: new Date().toISOString(),
      imageRef:
        c.imageRef ?? (req.image ? resolvePath(req.image) : req.iso ? resolvePath(req.iso) : undefined),
      sshUser: login.sshUser,
      sshKeyPath: login.sshKey,
      autoPorts: req.autoPorts || undefined,
      ...(shares ? { mounts: shares.metadata } : {}),
    },
  };
}

/**
 * A version-4 UUID from Math.random, not node:crypto: it must not repeat, not be unguessable (virsh shows it to
 * anyone who may list VMs), and loading crypto would cost every create a few milliseconds.
 */
export function randomUuid(): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const variant = (8 + Math.floor(Math.random() * 4)).toString(16);
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
}
