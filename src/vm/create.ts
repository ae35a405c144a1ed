// roost create: from what the user typed to a defined (and usually running) VM.
//
// Everything that can be checked is checked before anything is made (names, sizes, files, ports, a free name);
// then each step that makes something registers how to undo it, and a failure part way — the daemon refusing
// the XML, QEMU failing to start — undoes them in reverse, so no half-defined domain or orphan volume is left.
import { accessSync, constants, existsSync, rmSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { buildDomainXml, hostAccessProblem } from '../domain-xml/build.js';
import type { BootSpec, DiskSpec, Firmware, HostAccess, NicSpec, VmSpec } from '../domain-xml/spec.js';
import { RoostError, UsageError } from '../errors.js';
import type { CloudConfig } from '../cloud-init/index.js';
import { ImageNotFoundError } from '../images/errors.js';
import type { ImageEntry, PullProgress } from '../images/types.js';
import { detectAccel, withAccelRetry, type AccelDecision } from '../host/accel.js';
import { assertIsoImage, assertRegularFile, assertUsableImage } from '../images/probe.js';
import { isNotFound } from '../libvirt/errors.js';
import { canBind, checkForwards } from '../net/port-check.js';
import { exposesToNetwork, exposureWarning, toPortForwardSpec } from '../net/ports.js';
import { parsePortForward, type PortForward } from '../net/port-spec.js';
import { sshUserProblem } from '../net/ssh-user.js';
import { ensurePrivateDir } from '../paths.js';
import type { VmContext } from './context.js';
import { checkMemoryFitsHost } from './host-memory.js';
import { checkCreateInput, checkVmName, parseCpus, parseDiskBytes, parseMemoryMiB } from './input.js';
import { existingForwards } from './forwards.js';
import { formatUuid } from './lookup.js';
import { forgetHostKey, syncSshConfig } from './ssh.js';
import { createDisk, deleteVolumeAt, ensurePool } from './storage.js';
import { VERSION } from '../version.js';

export interface CreateRequest {
  name: string;
  image?: string;
  iso?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  memory?: string;
  cpus?: string;
  disk?: string;
  ports?: string[];
  /**
   * 'user' (passt, the default) or 'bridge=NAME'; several for several NICs, in this order ('user' and
   * 'bridge=virbr0': forwarded ports and the bridge's own address). The first one gets the default route.
   */
  network?: string | string[];
  accel?: 'auto' | 'kvm' | 'tcg';
  firmware?: Firmware;
  sshUser?: string;
  sshKey?: string;
  /** A cloud-config file merged into the seed's user-data. */
  cloudInit?: string;
  /** Attach no cloud-init seed to an image-based VM (default: a seed is attached). */
  noCloudInit?: boolean;
  /** Forward the ports the guest listens on automatically (vm/auto-ports.ts); recorded in the VM. */
  autoPorts?: boolean;
  /** What the guest may reach on the host (spec.ts HostAccess); default 'loopback'. */
  hostAccess?: HostAccess;
  /** Start the VM once defined (default true). */
  start?: boolean;
  /** For image downloads: progress events (term/progress.ts renders them). */
  onPullProgress?: PullProgress;
}

export type CreatePhase = 'image' | 'disk' | 'seed' | 'defining' | 'starting';

export interface CreateResult {
  name: string;
  uuid: string;
  accel: AccelDecision;
  disk?: string;
  ports: PortForward[];
  /** Forwards roost added on its own (the ssh port of a cloud image). */
  addedPorts: PortForward[];
  started: boolean;
  /** Login user and private key recorded for `roost ssh` (cloud images). */
  sshUser?: string;
  sshKey?: string;
  seed?: string;
  xml: string;
  /** What the user should know about what was made: a forward on 0.0.0.0 or :: reachable from the network. */
  warnings: string[];
}

export const DEFAULT_MEMORY = '2G';
export const DEFAULT_CPUS = '2';
/** Disk size for a new empty disk (ISO installs), and the least an image-based VM gets. */
export const DEFAULT_DISK = '20G';

interface Checked {
  name: string;
  memoryMiB: number;
  cpus: number;
  boot: BootSpec;
  image?: { path: string; format: 'qcow2' | 'raw'; virtualSize: number };
  /** A catalogue name to resolve (download if needed) once every other check passed. */
  imageRef?: string;
  diskBytes?: number;
  /** Whether --disk was given (else it follows the image's size). */
  diskGiven: boolean;
  cloudInit?: CloudConfig;
  ports: PortForward[];
  /** One per --network, in order; a user NIC's forwards are filled in by createVm. */
  nics: NicSpec[];
  firmware: Firmware;
}

function readable(path: string, what: string): string {
  const abs = resolvePath(path);
  try {
    accessSync(abs, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      'FILE_UNREADABLE',
      `${what} '${path}' ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`,
    );
  }
  return assertRegularFile(abs, what);
}

/** Validates the whole request; throws UsageError (exit 2) with nothing changed. */
export async function checkCreateRequest(req: CreateRequest): Promise<Checked> {
  checkCreateInput(req);
  const name = checkVmName(req.name);
  const userProblem = req.sshUser === undefined ? undefined : sshUserProblem(req.sshUser);
  if (userProblem !== undefined) {
    throw new UsageError('BAD_SSH_USER', `--user '${req.sshUser}' is ${userProblem}`, {
      hint: 'for example: --user debian',
    });
  }
  const sources = [req.image && '--image', req.iso && '--iso', req.kernel && '--kernel'].filter(Boolean);
  if (sources.length === 0) {
    throw new UsageError('NO_SOURCE', 'nothing to boot: give --image PATH, --iso PATH or --kernel PATH', {
      hint: `for example: roost create ${name} --image ./debian-12.qcow2`,
    });
  }
  if (req.iso && (req.image || req.kernel)) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '--iso installs onto an empty disk: it cannot be combined with --image or --kernel',
    );
  }
  if ((req.initrd || req.cmdline) && !req.kernel) {
    throw new UsageError('CONFLICTING_OPTIONS', '--initrd and --cmdline only make sense with --kernel');
  }
  const memoryMiB = parseMemoryMiB(req.memory ?? DEFAULT_MEMORY);
  const cpus = parseCpus(req.cpus ?? DEFAULT_CPUS);
  const ports = (req.ports ?? []).map(parsePortForward);

  const nics = parseNetworks(req.network, ports.length > 0);
  const hostAccess = hostAccessProblem(req.hostAccess ?? 'loopback', nics);
  if (hostAccess) throw new RoostError('HOST_ACCESS_UNSUPPORTED', hostAccess, { hint: HOST_ACCESS_HINT });

  let boot: BootSpec;
  let image: Checked['image'];
  if (req.kernel) {
    boot = {
      kind: 'kernel',
      kernel: readable(req.kernel, 'kernel'),
      initrd: req.initrd ? readable(req.initrd, 'initrd') : undefined,
      cmdline: req.cmdline,
    };
  } else if (req.iso) {
    boot = { kind: 'cdrom', iso: assertIsoImage(readable(req.iso, 'ISO image')) };
  } else {
    boot = { kind: 'disk' };
  }
  let imageRef: string | undefined;
  if (req.image && looksLikeCatalogName(req.image)) {
    imageRef = req.image;
  } else if (req.image) {
    const path = readable(req.image, 'image');
    const facts = await assertUsableImage(path);
    if (facts.backingFile) {
      throw new UsageError(
        'IMAGE_HAS_BACKING',
        `image '${req.image}' is itself an overlay on '${facts.backingFile}'`,
        {
          hint: `flatten it first: qemu-img convert -O qcow2 '${req.image}' flat.qcow2`,
        },
      );
    }
    image = { path, format: facts.format, virtualSize: facts.virtualSize };
  }

  let diskBytes: number | undefined;
  if (req.disk) diskBytes = parseDiskBytes(req.disk);
  if (image) {
    if (diskBytes !== undefined && diskBytes < image.virtualSize) {
      throw new UsageError(
        'DISK_TOO_SMALL',
        `--disk ${req.disk} is smaller than the image (${(image.virtualSize / 1024 ** 3).toFixed(1)} GiB)`,
        { hint: 'give a larger --disk, or leave it out to use the image size' },
      );
    }
    diskBytes ??= Math.max(image.virtualSize, parseDiskBytes(DEFAULT_DISK));
  } else if (req.iso || imageRef) {
    diskBytes ??= parseDiskBytes(DEFAULT_DISK);
  }
  if (req.autoPorts && !req.image) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '--auto-ports needs --image: it forwards over ssh, which a cloud image sets up',
    );
  }
  if (req.cloudInit && !req.image) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '--cloud-init needs --image (a cloud image reads the seed at first boot)',
    );
  }
  const cloudInit = req.cloudInit
    ? await (await cloudInitModule()).readCloudConfigFile(req.cloudInit)
    : undefined;
  // Cloud and installer images boot UEFI; a directly booted kernel needs no firmware of its own.
  const firmware = req.firmware ?? (req.kernel ? 'bios' : 'uefi');
  return {
    name,
    memoryMiB,
    cpus,
    boot,
    image,
    imageRef,
    diskBytes,
    diskGiven: req.disk !== undefined,
    ports,
    nics,
    firmware,
    cloudInit,
  };
}

/** Creates the VM; `onPhase` reports progress for the CLI's progress line. */
export async function createVm(
  ctx: VmContext,
  req: CreateRequest,
  onPhase: (p: CreatePhase) => void = () => {},
): Promise<CreateResult> {
  // Checks are quick and print nothing: a refusal is one message, not a progress line plus a message.
  const c = await checkCreateRequest(req);
  checkMemoryFitsHost(ctx.uri, c.memoryMiB, req.memory);
  const { client, paths } = ctx;

  // Asked now, answered by the time the domain is defined.
  const defineFlags = client.libVersion().then(defineFlagsFor);
  defineFlags.catch(() => undefined); // awaited below; a failure before then must not be an unhandled rejection

  // What the checks need from the daemon, asked at once: whether the name is free, and every other VM's forwards.
  const [taken, existing] = await Promise.all([
    client.lookupDomain(c.name).then(
      () => true,
      (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
    ),
    existingForwards(client),
  ]);
  if (taken) {
    throw new UsageError('NAME_TAKEN', `a VM named '${c.name}' already exists`, {
      hint: `pick another name, or remove it first: roost rm ${c.name}`,
    });
  }
  await checkForwards(c.ports, { existing });

  // A catalogue image is resolved (downloaded and verified if not cached) only now that the rest is known good.
  let image = c.image;
  let entry: ImageEntry | undefined;
  if (c.imageRef) {
    onPhase('image');
    // Loaded only here: the catalogue brings a YAML parser and zod (~1 MB of code), which a VM made from a
    // local file never needs (that half of `roost create`'s start-up time, measured).
    const { resolveImage } = await import('../images/store.js');
    const resolved = await resolveImage(c.imageRef, { paths, onProgress: req.onPullProgress }).catch(
      (e: unknown) => {
        if (e instanceof ImageNotFoundError)
          throw new UsageError(e.code, e.message, { hint: e.hint, cause: e });
        throw e;
      },
    );
    image = { path: resolved.path, format: resolved.format, virtualSize: resolved.virtualSize };
    entry = resolved.entry;
  }
  const withSeed = image !== undefined && !req.noCloudInit;
  let memoryMiB = c.memoryMiB;
  let diskBytes = c.diskBytes;
  if (image) {
    if (diskBytes !== undefined && diskBytes < image.virtualSize) {
      if (c.diskGiven) {
        throw new UsageError(
          'DISK_TOO_SMALL',
          `--disk ${req.disk} is smaller than the image (${gib(image.virtualSize)} GiB)`,
          {
            hint: 'give a larger --disk, or leave it out to use the image size',
          },
        );
      }
      diskBytes = image.virtualSize;
    }
    if (entry && !c.diskGiven) diskBytes = Math.max(diskBytes ?? 0, entry.minDiskGiB * 1024 ** 3);
    if (entry && req.memory === undefined) memoryMiB = Math.max(memoryMiB, entry.minMemoryMiB);
  }
  const firmware = req.firmware ?? (req.kernel ? 'bios' : (entry?.firmware ?? c.firmware));

  // A cloud image is reached with ssh: forward a free host port to guest port 22 unless the user forwarded one.
  const ports = [...c.ports];
  const addedPorts: PortForward[] = [];
  if (
    withSeed &&
    c.nics.some((n) => n.kind === 'user') &&
    !ports.some(
      (p) => p.proto === 'tcp' && p.guestStart <= 22 && 22 <= p.guestStart + p.hostEnd - p.hostStart,
    )
  ) {
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
  const nics: NicSpec[] = c.nics.map((n) =>
    n.kind === 'user'
      ? { kind: 'user', mac: randomMac(), ports: ports.map(toPortForwardSpec), hostAccess: req.hostAccess }
      : { ...n, mac: randomMac() },
  );
  let accel = await chooseAccel(req.accel ?? 'auto', paths.cache);

  const undo: (() => Promise<unknown>)[] = [];
  try {
    const disks: DiskSpec[] = [];
    let diskPath: string | undefined;
    // The overlay is made (libvirt runs qemu-img: ~10 ms) while the rest is prepared and the VM defined: libvirt
    // reads a disk only when the VM starts. Its undo waits for it, whichever way it ends.
    let disk: Promise<{ path: string }> | undefined;
    if (diskBytes !== undefined) {
      onPhase('disk');
      const { pool, dir } = await ensurePool(client, paths);
      const name = `${c.name}.qcow2`;
      const making = createDisk(client, pool, {
        name,
        capacityBytes: diskBytes,
        backing: image ? { path: image.path, format: image.format } : undefined,
      });
      making.catch(() => undefined); // awaited below, or by the undo
      disk = making;
      undo.push(async () => {
        const made = await making.catch(() => undefined);
        if (made) await deleteVolumeAt(client, made.path);
      });
      diskPath = join(dir, name);
      disks.push({ path: diskPath, format: 'qcow2' });
    }
    let sshUser = req.sshUser;
    let sshKey = req.sshKey ? resolvePath(req.sshKey) : undefined;
    let seedPath: string | undefined;
    if (withSeed) {
      onPhase('seed');
      const { createSeed, ensureRoostSshKey } = await cloudInitModule();
      const key = await ensureRoostSshKey(paths, { sshKey: req.sshKey, home: ctx.env.HOME });
      sshUser ??= entry?.user ?? DEFAULT_CLOUD_USER;
      sshKey = key.privateKeyPath ?? sshKey;
      seedPath = join(ensurePrivateDir(join(paths.data, 'seeds')), `${c.name}.iso`);
      const seed = seedPath;
      await createSeed({
        path: seed,
        hostname: c.name,
        user: sshUser,
        shell: entry?.shell,
        sshPublicKeys: [key.publicKey],
        mac: nics[0]!.mac,
        otherMacs: nics.slice(1).map((n) => n.mac!),
        extra: c.cloudInit,
      });
      undo.push(async () => rmSync(seed, { force: true }));
      // On virtio-scsi: cloud kernels (Debian's has no AHCI) all see it there; q35's default would be SATA.
      disks.push({ path: seed, format: 'raw', device: 'cdrom', readonly: true, bus: 'scsi' });
    }
    ensurePrivateDir(paths.logs);
    ensurePrivateDir(paths.sockets);
    const spec: VmSpec = {
      name: c.name,
      accel: accel.accel,
      memoryMiB,
      cpus: c.cpus,
      firmware,
      machine: 'q35',
      boot: c.boot,
      disks,
      network: nics,
      serialLog: `${paths.logs}/${c.name}.serial.log`,
      vnc: { socket: `${paths.sockets}/${c.name}.vnc` },
      guestAgent: true,
      roost: {
        createdBy: `roost ${VERSION}`,
        createdAt: new Date().toISOString(),
        imageRef:
          c.imageRef ?? (req.image ? resolvePath(req.image) : req.iso ? resolvePath(req.iso) : undefined),
        sshUser,
        sshKeyPath: sshKey,
        autoPorts: req.autoPorts || undefined,
      },
    };
    let xml = buildDomainXml(spec);
    onPhase('defining');
    const flags = await defineFlags;
    // A kvm the daemon refuses (a stale accel cache) is probed again and the VM defined under tcg.
    const defined = await withAccelRetry(
      accel,
      (a) =>
        client.defineDomain(a === accel ? xml : (xml = buildDomainXml({ ...spec, accel: a.accel })), flags),
      { forced: req.accel === 'kvm', cacheFile: `${paths.cache}/accel.json` },
    );
    accel = defined.accel;
    let dom = defined.value;
    undo.push(() => client.undefineDomain(dom, 4 /* NVRAM */));
    if (disk) {
      const made = await disk;
      if (made.path !== diskPath) {
        throw new Error(`libvirt made the disk at ${made.path}, not at ${diskPath} where the VM expects it`);
      }
    }
    let started = false;
    if (req.start ?? true) {
      onPhase('starting');
      dom = await client.startDomain(dom).catch(async (e: unknown) => {
        throw (await (await import('./start.js')).passtStartError(c.name, e, ports)) ?? e;
      });
      started = true;
    }
    // A new VM of an old name has a new host key: forget the old one, and publish `ssh NAME.roost`.
    forgetHostKey(paths, c.name);
    const synced = sshUser ? await syncSshConfig(ctx).catch(() => undefined) : undefined;
    return {
      name: c.name,
      uuid: formatUuid(dom.uuid),
      accel,
      disk: diskPath,
      ports,
      addedPorts,
      started,
      sshUser,
      sshKey,
      seed: seedPath,
      xml,
      warnings: [
        ...ports.filter(exposesToNetwork).map(exposureWarning),
        ...(synced?.skipped ?? []).map((k) => `ssh config: VM '${k.vm}' left out: ${k.reason}`),
      ],
    };
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw err;
  }
}

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

/** Login user the seed creates when the image names none. */
export const DEFAULT_CLOUD_USER = 'roost';
const SSH_PORT_FROM = 2222;

/** A host port for a VM's ssh forward: from 2222 up, not forwarded to another VM and free on the host. */
async function freeSshPort(taken: PortForward[]): Promise<number> {
  for (let port = SSH_PORT_FROM; port < SSH_PORT_FROM + 1000; port++) {
    if (taken.some((f) => f.proto === 'tcp' && f.hostStart <= port && port <= f.hostEnd)) continue;
    if (await canBind('tcp', '127.0.0.1', port)) return port;
  }
  throw new RoostError(
    'NO_FREE_PORT',
    `no free host port for ssh between ${SSH_PORT_FROM} and ${SSH_PORT_FROM + 999}`,
    {
      hint: 'forward one yourself: --port 127.0.0.1:PORT:22',
    },
  );
}

// cloud-init's modules (and their YAML library) load only for a VM that gets a seed or a --cloud-init file.
const cloudInitModule = () => import('../cloud-init/index.js');

const HOST_ACCESS_HINT =
  'use --host-access loopback (and keep host services off 127.0.0.1 if the guest is not trusted), or --network ' +
  'bridge=NAME alone (a bridged guest cannot reach the host loopback); see docs/networking.md';

/**
 * --network, once or more: each 'user' (passt; at most one, as passt has one set of forwards) or 'bridge=NAME'
 * (each bridge once). --port needs the user NIC.
 */
function parseNetworks(network: string | string[] | undefined, hasPorts: boolean): NicSpec[] {
  const given = network === undefined ? ['user'] : Array.isArray(network) ? network : [network];
  if (given.length === 0) given.push('user');
  const nics = given.map((n): NicSpec => {
    // The forwards go in once createVm knows them all (it may add the ssh one).
    if (n === 'user') return { kind: 'user', ports: [] };
    if (/^bridge=[A-Za-z0-9_.-]{1,15}$/.test(n)) return { kind: 'bridge', bridge: n.slice('bridge='.length) };
    throw new UsageError(
      'INVALID_NETWORK',
      `invalid --network '${n}': use 'user' or 'bridge=NAME' (e.g. bridge=virbr0)`,
    );
  });
  const seen = new Set<string>();
  for (const n of given) {
    if (seen.has(n))
      throw new UsageError('INVALID_NETWORK', `--network ${n} is given twice: one NIC each`, {
        hint: n === 'user' ? 'one user NIC carries every --port' : undefined,
      });
    seen.add(n);
  }
  if (hasPorts && !seen.has('user')) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '--port needs user networking (passt); a bridged VM is reached at its own IP',
      { hint: 'drop --port, or add --network user (a NIC for forwards beside the bridge)' },
    );
  }
  return nics;
}

/**
 * A locally administered MAC in QEMU's range (52:54:00), so the seed's network-config can match the NIC.
 * Math.random, not node:crypto: a MAC needs to be unlikely to repeat, not to be unguessable (it is on the wire
 * for anyone on the link to see), and loading crypto would cost every create ~4 ms.
 */
function randomMac(): string {
  const byte = () => Math.floor(Math.random() * 256);
  return `52:54:00:${[byte(), byte(), byte()].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

function gib(bytes: number): string {
  return (bytes / 1024 ** 3).toFixed(1);
}

/** A bare word like `debian-12` is a catalogue name; anything with a slash or an image suffix is a path. */
export function looksLikeCatalogName(ref: string): boolean {
  return !ref.includes('/') && !/\.(qcow2|img|raw)$/i.test(ref) && !existsSync(ref);
}

async function chooseAccel(want: 'auto' | 'kvm' | 'tcg', cacheDir: string): Promise<AccelDecision> {
  if (want === 'auto') return detectAccel({ cacheFile: `${cacheDir}/accel.json` });
  return { accel: want, reason: `--accel ${want} given`, bootId: '', cached: false };
}
