// roost create: from what the user typed to a defined (and usually running) VM.
//
// Everything that can be checked is checked before anything is made (names, sizes, files, ports, a free name);
// then the named steps of create-steps.ts run, each registering how to undo what it makes. A failure part way
// (the daemon refusing the XML, QEMU failing to start, the daemon dying) or an interruption (Ctrl-C, SIGTERM,
// SIGHUP: it takes effect at the next step boundary) undoes them in reverse, so no half-defined domain, orphan
// volume, stray passt or leftover file is left; what cannot be undone is named with the command that removes it.
import { accessSync, constants, existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { hostAccessProblem } from '../domain-xml/build.js';
import type { BootSpec, Firmware, HostAccess, NicSpec } from '../domain-xml/spec.js';
import { RoostError, UsageError } from '../errors.js';
import type { CloudConfig } from '../cloud-init/index.js';
import type { ImageEntry, PullProgress } from '../images/types.js';
import type { AccelDecision } from '../host/accel.js';
import { assertIsoImage, assertRegularFile, assertUsableImage } from '../images/probe.js';
import { exposesToNetwork, exposureWarning } from '../net/ports.js';
import { parsePortForward, type PortForward } from '../net/port-spec.js';
import type { VmContext } from './context.js';
import {
  buildSpec,
  checkHost,
  chooseAccel,
  cloudInitModule,
  defineVm,
  nicsWithMacs,
  planSizes,
  planSshForward,
  resolveCatalogImage,
  startDisk,
  startVm,
  writeSeed,
  defineFlagsFor,
  type DiskInMaking,
  type Login,
} from './create-steps.js';
import { checkMemoryFitsHost } from './host-memory.js';
import {
  checkMounts,
  chooseMountType,
  guestMountCommand,
  hostMountSupport,
  mountWarnings,
  planMounts,
  type CheckedMount,
  type MountTypeChoice,
} from './mounts.js';
import {
  checkCreateInput,
  checkVmName,
  parseCpus,
  parseDiskBytes,
  parseMemoryMiB,
  parseNetworks,
} from './input.js';
import { formatUuid } from './lookup.js';
import { Rollback, withRollback } from './rollback.js';
import { forgetHostKey, syncSshConfig } from './ssh.js';
import { explainDaemonLoss, Steps } from './steps.js';

export { DEFAULT_CLOUD_USER, defineFlagsFor } from './create-steps.js';

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
  /** Shared folders: HOSTDIR[:GUESTDIR][:ro] each (vm/mounts.ts). */
  mounts?: string[];
  /** virtiofs, 9p, or auto (the default: virtiofs where the host can run it). */
  mountType?: MountTypeChoice;
  /** Allow sharing the user's whole home directory. */
  mountHome?: boolean;
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
  /** Shared folders, and whether the seed mounts them in the guest (else: how to mount them by hand). */
  mounts: CreatedMount[];
}

export interface CreatedMount {
  tag: string;
  type: '9p' | 'virtiofs';
  hostDir: string;
  guestDir: string;
  mode: 'ro' | 'rw';
  /** The seed mounts it at every boot (a cloud image); false: mount it by hand (guestCommand). */
  bySeed: boolean;
  guestCommand: string;
}

export const DEFAULT_MEMORY = '2G';
export const DEFAULT_CPUS = '2';
/** Disk size for a new empty disk (ISO installs), and the least an image-based VM gets. */
export const DEFAULT_DISK = '20G';

export interface Checked {
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
  mounts: CheckedMount[];
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
export async function checkCreateRequest(
  req: CreateRequest,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Checked> {
  checkCreateInput(req);
  const name = checkVmName(req.name);
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
  const mounts = checkMounts(req.mounts ?? [], { home: env.HOME, mountHome: req.mountHome });
  if (req.mountType !== undefined && mounts.length === 0) {
    throw new UsageError('CONFLICTING_OPTIONS', '--mount-type needs --mount');
  }

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
    // Refuses what QEMU must not be handed: a backing file, an external data file, a file that is no image.
    const facts = await assertUsableImage(path);
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
    mounts,
    nics,
    firmware,
    cloudInit,
  };
}

export interface CreateControl {
  /** Aborted (reason: the signal's name) when the user interrupts: create stops at the next step and rolls back. */
  signal?: AbortSignal;
  /** Aborted when the user interrupts again during the rollback: what is not yet undone is reported as left. */
  stopRollback?: AbortSignal;
  /** For the test hook (steps.ts): default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Creates the VM; `onPhase` reports progress for the CLI's progress line. A failure or an interruption after
 * the checks rolls back what was made; the error thrown then carries the rollback's report (rollback.ts).
 */
export async function createVm(
  ctx: VmContext,
  req: CreateRequest,
  onPhase: (p: CreatePhase) => void = () => {},
  control: CreateControl = {},
): Promise<CreateResult> {
  // Checks are quick and print nothing: a refusal is one message, not a progress line plus a message.
  const c = await checkCreateRequest(req, ctx.env);
  checkMemoryFitsHost(ctx.uri, c.memoryMiB, req.memory);
  const steps = new Steps('create', control);
  const rollback = new Rollback();
  // Asked now, answered by the time the domain is defined.
  const defineFlags = ctx.client.libVersion().then(defineFlagsFor);
  defineFlags.catch(() => undefined); // awaited below; a failure before then must not be an unhandled rejection
  try {
    return await makeVm(ctx, c, req, onPhase, steps, rollback, defineFlags);
  } catch (err) {
    if (rollback.empty) throw explainDaemonLoss(err, 'checking the request');
    await steps.beforeRollback();
    const report = await rollback.run(control.stopRollback);
    throw withRollback(err, report);
  }
}

async function makeVm(
  ctx: VmContext,
  c: Checked,
  req: CreateRequest,
  onPhase: (p: CreatePhase) => void,
  steps: Steps,
  rollback: Rollback,
  defineFlags: Promise<number>,
): Promise<CreateResult> {
  const existing = await steps.run('check', 'checking the name and ports', () => checkHost(ctx, c));
  // Which type the host gives is known before anything is made: a forced virtiofs it cannot run is refused here.
  const shares =
    c.mounts.length > 0
      ? planMounts(c.mounts, chooseMountType(req.mountType ?? 'auto', await hostMountSupport(ctx)))
      : undefined;
  let image = c.image;
  let entry: ImageEntry | undefined;
  if (c.imageRef) {
    onPhase('image');
    const ref = c.imageRef;
    ({ image, entry } = await steps.run('image', 'resolving the image', () =>
      resolveCatalogImage(ctx, ref, req, steps.signal),
    ));
  }
  const withSeed = image !== undefined && !req.noCloudInit;
  const sizes = planSizes(c, req, image, entry);
  const { ports, addedPorts } = await planSshForward(c, withSeed, existing);
  const nics = nicsWithMacs(c, ports, req.hostAccess);
  let accel = await chooseAccel(req.accel ?? 'auto', ctx.paths.cache);

  let disk: DiskInMaking | undefined;
  const diskBytes = sizes.diskBytes;
  if (diskBytes !== undefined) {
    onPhase('disk');
    disk = await steps.run('disk', 'creating the disk', () =>
      startDisk(ctx, c.name, diskBytes, image, rollback),
    );
  }
  let login: Login = { sshUser: req.sshUser, sshKey: req.sshKey ? resolvePath(req.sshKey) : undefined };
  if (withSeed) {
    onPhase('seed');
    login = await steps.run('seed', 'writing the cloud-init seed', () =>
      writeSeed(ctx, c, req, entry, nics, rollback, shares),
    );
  }
  const spec = buildSpec(ctx, c, req, sizes, accel, nics, disk?.path, login, shares);
  onPhase('defining');
  const defined = await steps.run('define', 'defining the VM', async () => {
    await disk?.made; // the name's claim (create-steps.ts)
    login.placeSeed?.();
    return defineVm(ctx, spec, defineFlags, rollback, {
      accel,
      forced: req.accel === 'kvm',
      cacheFile: `${ctx.paths.cache}/accel.json`,
    });
  });
  accel = defined.accel;
  let dom = defined.dom;
  let started = false;
  if (req.start ?? true) {
    onPhase('starting');
    dom = await steps.run('start', 'starting the VM', () => startVm(ctx, dom, spec.uuid!, rollback, ports));
    started = true;
  }
  // The last boundary: an interruption during the start is still rolled back.
  await steps.boundary('done');
  // A new VM of an old name has a new host key: forget the old one, and publish `ssh NAME.roost`.
  forgetHostKey(ctx.paths, c.name);
  const synced = login.sshUser ? await syncSshConfig(ctx).catch(() => undefined) : undefined;
  return {
    name: c.name,
    uuid: formatUuid(dom.uuid),
    accel,
    disk: disk?.path,
    ports,
    addedPorts,
    started,
    sshUser: login.sshUser,
    sshKey: login.sshKey,
    seed: login.seedPath,
    xml: defined.xml,
    mounts: (shares?.guest ?? []).map((g, i) => ({
      tag: g.tag,
      type: g.type,
      hostDir: c.mounts[i]!.hostDir,
      guestDir: g.guestDir,
      mode: g.readonly ? 'ro' : 'rw',
      bySeed: withSeed,
      guestCommand: guestMountCommand(g),
    })),
    warnings: [
      ...ports.filter(exposesToNetwork).map(exposureWarning),
      ...mountWarnings(c.mounts),
      ...(shares?.type === '9p' && entry?.name.startsWith('debian-') ? [NINEP_DEBIAN_CLOUD] : []),
      ...(synced?.skipped ?? []).map((k) => `ssh config: VM '${k.vm}' left out: ${k.reason}`),
    ],
  };
}

// Debian's cloud images boot its "cloud" kernel flavour, built without 9p (CONFIG_NET_9P unset in bookworm's).
const NINEP_DEBIAN_CLOUD =
  "Debian's cloud images run a kernel without 9p: the guest cannot mount the shared folders (the boot goes on " +
  'without them). Use a host with virtiofsd (roost doctor), or an image whose kernel has 9p, e.g. ubuntu-24.04 or fedora-44';

/** A bare word like `debian-12` is a catalogue name; anything with a slash or an image suffix is a path. */
export function looksLikeCatalogName(ref: string): boolean {
  return !ref.includes('/') && !/\.(qcow2|img|raw)$/i.test(ref) && !existsSync(ref);
}

const HOST_ACCESS_HINT =
  'use --host-access loopback (and keep host services off 127.0.0.1 if the guest is not trusted), or --network ' +
  'bridge=NAME alone (a bridged guest cannot reach the host loopback); see docs/networking.md';
