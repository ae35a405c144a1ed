// The steps of `roost create` after its input was checked (create.ts runs them in order): check the host,
// resolve the image, sizes, the ssh forward, the disk, the seed, the spec, define, start. Each step that makes
// something registers its undo with the create's Rollback before (or as) it makes it.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { buildDomainXml } from '../domain-xml/build.js';
import type { DiskSpec, Firmware, HostAccess, NicSpec, VmSpec } from '../domain-xml/spec.js';
import type { SeedMount } from '../cloud-init/mounts.js';
import { RoostError, UsageError } from '../errors.js';
import { ImageNotFoundError } from '../images/errors.js';
import type { ImageEntry } from '../images/types.js';
import { detectAccel, withAccelRetry, type AccelDecision } from '../host/accel.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { ConnectionClosedError, isNotFound, LibvirtError, VirErrorCode } from '../libvirt/errors.js';
import type { Domain } from '../libvirt/types.js';
import { canBind, checkForwards, type ExistingForward } from '../net/port-check.js';
import { toPortForwardSpec } from '../net/ports.js';
import type { PortForward } from '../net/port-spec.js';
import { ensurePrivateDir } from '../paths.js';
import { VERSION } from '../version.js';
import type { VmContext } from './context.js';
import type { Checked, CreateRequest } from './create.js';
import { existingForwards } from './forwards.js';
import { randomMac } from './input.js';
import { endStrayProcesses, qemuRunDir, removeRuntimeFiles } from './leftovers.js';
import { guestMountOptions, type MountPlan } from './mounts.js';
import type { Rollback } from './rollback.js';
import { createDisk, deleteVolumeAt, ensurePool } from './storage.js';

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
export async function checkHost(ctx: VmContext, c: Checked): Promise<ExistingForward[]> {
  const { client } = ctx;
  const runDir = qemuRunDir(ctx);
  const [taken, existing] = await Promise.all([
    client.lookupDomain(c.name).then(
      () => true,
      (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
    ),
    existingForwards(client),
    runDir ? endStrayProcesses(ctx, runDir) : undefined,
  ]);
  if (taken) throw nameTakenError(c.name);
  await checkForwards(c.ports, { existing });
  return existing;
}

// --- the image -------------------------------------------------------------------------------------------------

/** A catalogue image, downloaded and verified if not cached (only once every other check passed). */
export async function resolveCatalogImage(
  ctx: VmContext,
  ref: string,
  req: CreateRequest,
  signal: AbortSignal | undefined,
): Promise<{ image: BaseImage; entry: ImageEntry | undefined }> {
  // Loaded only here: the catalogue brings a YAML parser and zod (~1 MB of code), which a VM made from a
  // local file never needs (that half of `roost create`'s start-up time, measured).
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
  existing: ExistingForward[],
): Promise<{ ports: PortForward[]; addedPorts: PortForward[] }> {
  const ports = [...c.ports];
  const addedPorts: PortForward[] = [];
  const forwardsSsh = ports.some(
    (p) => p.proto === 'tcp' && p.guestStart <= 22 && 22 <= p.guestStart + p.hostEnd - p.hostStart,
  );
  if (withSeed && c.nics.some((n) => n.kind === 'user') && !forwardsSsh) {
    const port = await freeSshPort(existing.map((e) => e.forward));
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

/** A host port for a VM's ssh forward: from 2222 up, not forwarded to another VM and free on the host. */
async function freeSshPort(taken: PortForward[]): Promise<number> {
  for (let port = SSH_PORT_FROM; port < SSH_PORT_FROM + 1000; port++) {
    if (taken.some((f) => f.proto === 'tcp' && f.hostStart <= port && port <= f.hostEnd)) continue;
    if (await canBind('tcp', '127.0.0.1', port)) return port;
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

// --- the disk --------------------------------------------------------------------------------------------------

export interface DiskInMaking {
  /** Where the VM expects it (libvirt names a dir pool's volume files <dir>/<volume name>). */
  path: string;
  /** Settles when libvirt has made it; a rejection is already explained (NAME_TAKEN when the name is taken). */
  made: Promise<void>;
}

/**
 * Starts making the VM's disk, a qcow2 overlay on the base image (libvirt runs qemu-img: ~10 ms), and returns
 * without waiting for it: the seed is written meanwhile. The disk is the name's claim — of two creates of one
 * name, the one whose volume libvirt made first goes on — so it is awaited before the VM is defined.
 */
export async function startDisk(
  ctx: VmContext,
  name: string,
  capacityBytes: number,
  image: BaseImage | undefined,
  rollback: Rollback,
): Promise<DiskInMaking> {
  const { client } = ctx;
  const { pool, dir } = await ensurePool(client, ctx.paths);
  const volName = `${name}.qcow2`;
  const path = join(dir, volName);
  const making = createDisk(client, pool, {
    name: volName,
    capacityBytes,
    backing: image ? { path: image.path, format: image.format } : undefined,
  });
  // Made by this create, or — the daemon gone before it answered — perhaps made: then it is ours when no VM of
  // this name exists (another create of the name defines its VM only after its disk was made).
  const ours = making.then(
    () => true,
    (e: unknown) => e instanceof ConnectionClosedError,
  );
  rollback.add({
    what: `disk ${path}`,
    fix: `roost rm --force ${name}`,
    run: async () => {
      if (!(await ours)) return false;
      const made = await making.then(
        () => true,
        () => false,
      );
      // Perhaps made, before the daemon died: not ours if a VM of the name has it.
      if (!made && (await domainExists(client, name))) return false;
      return deleteVolumeAt(client, path);
    },
  });
  const made = making.then(
    (m) => {
      if (m.path !== path) {
        throw new Error(`libvirt made the disk at ${m.path}, not at ${path} where the VM expects it`);
      }
    },
    async (e: unknown) => {
      if (e instanceof LibvirtError && e.virErrorCode === VirErrorCode.STORAGE_VOL_EXIST) {
        throw await diskTakenError(client, name, volName, e);
      }
      throw e;
    },
  );
  made.catch(() => undefined); // awaited by the define step, or not at all when an earlier step fails
  return { path, made };
}

async function domainExists(client: LibvirtClient, name: string): Promise<boolean> {
  return client.lookupDomain(name).then(
    () => true,
    (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
  );
}

/** The disk name is taken: by a VM of that name (maybe one created this very moment), or by a leftover. */
async function diskTakenError(client: LibvirtClient, name: string, volName: string, cause: unknown) {
  if (await domainExists(client, name).catch(() => false)) return nameTakenError(name);
  return new UsageError(
    'NAME_TAKEN',
    `a VM named '${name}' already exists or is being created: its disk ${volName} is in roost's pool`,
    {
      hint: `pick another name; if no other 'roost create ${name}' is running, remove the leftover disk: roost rm ${name}`,
      cause,
    },
  );
}

// --- the seed --------------------------------------------------------------------------------------------------

export interface Login {
  sshUser?: string;
  sshKey?: string;
  /** Where the seed goes (and the VM reads it). */
  seedPath?: string;
  /** Puts the seed in place: once the name is claimed, so that a losing create never touches a winner's seed. */
  placeSeed?: () => void;
}

/**
 * Writes the cloud-init seed (login user, ssh key, hostname, network-config matching the NICs' MACs) beside its
 * place, under a name of this create's own; placeSeed() renames it into place.
 */
export async function writeSeed(
  ctx: VmContext,
  c: Checked,
  req: CreateRequest,
  entry: ImageEntry | undefined,
  nics: NicSpec[],
  rollback: Rollback,
  shares?: MountPlan,
): Promise<Login> {
  const { paths } = ctx;
  const { createSeed, ensureRoostSshKey } = await cloudInitModule();
  const key = await ensureRoostSshKey(paths, { sshKey: req.sshKey, home: ctx.env.HOME });
  const sshUser = req.sshUser ?? entry?.user ?? DEFAULT_CLOUD_USER;
  const sshKey = key.privateKeyPath ?? (req.sshKey ? resolvePath(req.sshKey) : undefined);
  const seedPath = join(ensurePrivateDir(join(paths.data, 'seeds')), `${c.name}.iso`);
  const written = `${seedPath}.${process.pid}.tmp`;
  let placed = false;
  rollback.add({
    what: `seed ${seedPath}`,
    fix: `roost rm --force ${c.name}`,
    run: async () => {
      const path = placed ? seedPath : written;
      if (!existsSync(path)) return false;
      rmSync(path, { force: true });
    },
  });
  await createSeed({
    path: written,
    hostname: c.name,
    user: sshUser,
    shell: entry?.shell,
    sshPublicKeys: [key.publicKey],
    mac: nics[0]!.mac,
    otherMacs: nics.slice(1).map((n) => n.mac!),
    extra: c.cloudInit,
    ...(shares ? seedMounts(shares) : {}),
  });
  const placeSeed = () => {
    renameSync(written, seedPath);
    placed = true;
  };
  return { sshUser, sshKey, seedPath, placeSeed };
}

/**
 * The shared folders for the seed, and the login user's uid: the host user's own where it is an ordinary one
 * (1000–59999), so files in a shared folder belong to the same uid on both sides. A system uid (below 1000) could
 * clash with one of the image's own system users, so the image's default stays then.
 */
export function seedMounts(
  shares: MountPlan,
  uid = process.getuid?.(),
): { mounts: SeedMount[]; uid?: number } {
  const mounts = shares.guest.map((g) => ({
    tag: g.tag,
    guestDir: g.guestDir,
    type: g.type,
    options: guestMountOptions(g.type, g.readonly),
  }));
  return uid !== undefined && uid >= 1000 && uid < 60000 ? { mounts, uid } : { mounts };
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
): VmSpec {
  const { paths } = ctx;
  const disks: DiskSpec[] = [];
  if (diskPath) disks.push({ path: diskPath, format: 'qcow2' });
  // On virtio-scsi: cloud kernels (Debian's has no AHCI) all see it there; q35's default would be SATA.
  if (login.seedPath) {
    disks.push({ path: login.seedPath, format: 'raw', device: 'cdrom', readonly: true, bus: 'scsi' });
  }
  ensurePrivateDir(paths.logs);
  ensurePrivateDir(paths.sockets);
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
    serialLog: `${paths.logs}/${c.name}.serial.log`,
    vnc: { socket: `${paths.sockets}/${c.name}.vnc` },
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

// --- define and start ------------------------------------------------------------------------------------------

/** libvirt 9.0 added passt (`<backend type='passt'>`, `<portForward>`); older daemons drop both without a word. */
const PASST_SINCE = 9_000_000n;
const DEFINE_VALIDATE = 1;

/**
 * Flags for defining a new VM on a daemon of this version. Not VIR_DOMAIN_DEFINE_VALIDATE where libvirt knows
 * everything roost writes: its RelaxNG pass costs ~15 ms of every create and could only catch a fault of the
 * builder, whose every shape the tests check with virt-xml-validate (build.test.ts); what users type is checked
 * before. Below 9.0 the schema check is what turns "passt silently dropped" into a refusal, so it is asked for.
 * (Edits of hand-made domains, edit.ts and ports.ts, always validate.)
 */
export function defineFlagsFor(libVersion: bigint): number {
  return libVersion < PASST_SINCE ? DEFINE_VALIDATE : 0;
}

const UNDEFINE_NVRAM = 4;
const DESTROY_REMOVE_LOGS = 2;

/** This create's VM, found by name and told from another of that name by its UUID; undefined when gone. */
async function ourDomain(client: LibvirtClient, name: string, uuid: string): Promise<Domain | undefined> {
  const dom = await client.lookupDomain(name).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
  return dom && dom.uuid.toString('hex') === uuid.replace(/-/g, '') ? dom : undefined;
}

/**
 * Defines the VM. Its undo is registered first: should the daemon die before it answers, the rollback still
 * finds the VM by its UUID if the define went through. The undo also removes what a VM leaves on the host:
 * roost's serial log and VNC socket, libvirt's runtime files, and passt or QEMU processes a dead daemon left.
 */
export async function defineVm(
  ctx: VmContext,
  spec: VmSpec,
  flags: Promise<number>,
  rollback: Rollback,
  accelRetry: { accel: AccelDecision; forced: boolean; cacheFile: string },
): Promise<{ dom: Domain; xml: string; accel: AccelDecision }> {
  const { client } = ctx;
  let xml = buildDomainXml(spec);
  const uuid = spec.uuid!;
  rollback.add({
    what: `VM '${spec.name}'`,
    fix: `roost rm --force ${spec.name}`,
    run: async () => {
      const dom = await ourDomain(client, spec.name, uuid);
      if (dom) await client.undefineDomain(dom, UNDEFINE_NVRAM);
      const defined = dom !== undefined;
      if (spec.serialLog) rmSync(spec.serialLog, { force: true });
      if (spec.vnc?.socket) rmSync(spec.vnc.socket, { force: true });
      const runDir = qemuRunDir(ctx);
      if (runDir) {
        await endStrayProcesses(ctx, runDir, spec.name);
        await removeRuntimeFiles(ctx, runDir, spec.name);
      }
      return defined;
    },
  });
  try {
    const defineFlags = await flags;
    // A kvm the daemon refuses (a stale accel cache) is probed again and the VM defined under tcg.
    const { value: dom, accel } = await withAccelRetry(
      accelRetry.accel,
      (a) => {
        if (a !== accelRetry.accel) xml = buildDomainXml({ ...spec, accel: a.accel });
        return client.defineDomain(xml, defineFlags);
      },
      { forced: accelRetry.forced, cacheFile: accelRetry.cacheFile },
    );
    return { dom, xml, accel };
  } catch (e) {
    if (e instanceof LibvirtError && e.virErrorCode === VirErrorCode.DOM_EXIST)
      throw nameTakenError(spec.name);
    throw e;
  }
}

/** Starts the VM; the undo powers it off again (whether or not the daemon answered the start). */
export async function startVm(
  ctx: VmContext,
  dom: Domain,
  uuid: string,
  rollback: Rollback,
  ports: readonly PortForward[],
): Promise<Domain> {
  const { client } = ctx;
  rollback.add({
    what: `the running VM '${dom.name}'`,
    fix: `roost rm --force ${dom.name}`,
    run: async () => {
      const ours = await ourDomain(client, dom.name, uuid);
      if (!ours || !(await client.isActive(ours))) return false;
      await client.destroyDomain(ours, DESTROY_REMOVE_LOGS).catch(async (e: unknown) => {
        // It stopped on its own meanwhile: nothing to power off.
        if (!(await client.isActive(ours))) return;
        throw e;
      });
    },
  });
  return client.startDomain(dom).catch(async (e: unknown) => {
    // passt's own words for a port it cannot bind, said as roost's (which port, and the fix).
    throw (await (await import('./start.js')).passtStartError(dom.name, e, ports)) ?? e;
  });
}
