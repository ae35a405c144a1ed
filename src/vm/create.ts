// roost create: from what the user typed to a defined (and usually running) VM.
//
// Everything that can be checked is checked before anything is made (create-check.ts, then a free name and
// free ports); then the named steps run: the planning steps of create-steps.ts, and the steps of create-make.ts,
// each registering how to undo what it makes. A failure part way (the daemon refusing the XML, QEMU failing to
// start, the daemon dying) or an interruption (Ctrl-C, SIGTERM, SIGHUP: it takes effect at the next step
// boundary) undoes them in reverse, so no half-defined domain, orphan volume, stray passt or leftover file is
// left; what cannot be undone is named with the command that removes it.
import { resolve as resolvePath } from 'node:path';
import type { Firmware, HostAccess, NicSpec } from '../domain-xml/spec.js';
import type { Domain } from '../libvirt/types.js';
import type { ImageEntry, PullProgress } from '../images/types.js';
import type { AccelDecision } from '../host/accel.js';
import { exposesToNetwork, exposureWarning } from '../net/ports.js';
import type { PortForward } from '../net/port-spec.js';
import { UsageError } from '../errors.js';
import type { CreatedMount } from '../shared/mounts.js';
import { isRemote, type VmContext } from './context.js';
import { checkCreateRequest, type Checked } from './create-check.js';
import {
  buildSpec,
  checkHost,
  chooseAccel,
  nicsWithMacs,
  planSizes,
  planSshForward,
  resolveCatalogImage,
  type BaseImage,
  type Login,
  type Sizes,
} from './create-steps.js';
import {
  defineFlagsFor,
  defineVm,
  prepareStart,
  startDisk,
  startVm,
  writeSeed,
  type DiskInMaking,
} from './create-make.js';
import { checkMemoryFitsHost } from './host-memory.js';
import type { MountPlan, MountTypeChoice } from './mounts.js';
import { formatUuid } from './lookup.js';
import type { RemotePlace } from './remote.js';
import { Rollback, withRollback } from './rollback.js';
import { explainDaemonLoss, Steps } from './steps.js';

export { DEFAULT_CLOUD_USER } from './create-steps.js';
export { defineFlagsFor } from './create-make.js';
export {
  checkCreateRequest,
  DEFAULT_CPUS,
  DEFAULT_DISK,
  DEFAULT_MEMORY,
  type Checked,
} from './create-check.js';
export { looksLikeCatalogName } from './input.js';

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
  /** A cloud-config as text (the API and the web form), merged as cloudInit's file would be. */
  cloudConfig?: string;
  /** Attach no cloud-init seed to an image-based VM (default: a seed is attached). */
  noCloudInit?: boolean;
  /** Forward the ports the guest listens on automatically (vm/auto-ports.ts); recorded in the VM. */
  autoPorts?: boolean;
  /** What the guest may reach on the host (spec.ts HostAccess); default 'loopback'. */
  hostAccess?: HostAccess;
  /** Shared folders: HOSTDIR[:GUESTDIR][:ro] each (vm/mount-check.ts). */
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
  if (req.autoPorts && isRemote(ctx)) (await remoteModule()).refuseRemoteAutoPorts(ctx, c.name);
  checkMemoryFitsHost(ctx.uri, c.memoryMiB, req.memory);
  const steps = new Steps('create', control);
  const rollback = new Rollback();
  // Asked now, answered by the time the domain is defined.
  const defineFlags = ctx.client.libVersion().then(defineFlagsFor);
  defineFlags.catch(() => undefined); // awaited below; a failure before then must not be an unhandled rejection
  try {
    return await makeVm({ ctx, c, req, onPhase, steps, rollback }, defineFlags);
  } catch (err) {
    if (rollback.empty) throw explainDaemonLoss(err, 'checking the request');
    await steps.beforeRollback();
    const report = await rollback.run(control.stopRollback);
    throw withRollback(err, report);
  }
}

/** One create under way: its context, checked request, progress, step runner and rollback. */
export interface Making {
  ctx: VmContext;
  c: Checked;
  req: CreateRequest;
  onPhase: (p: CreatePhase) => void;
  steps: Steps;
  rollback: Rollback;
}

/** What the planning steps decided before anything is made. */
interface Plan {
  image?: BaseImage;
  entry?: ImageEntry;
  /** Whether the VM gets a cloud-init seed. */
  withSeed: boolean;
  sizes: Sizes;
  ports: PortForward[];
  addedPorts: PortForward[];
  nics: NicSpec[];
  accel: AccelDecision;
  /** The shared folders' devices, metadata and guest mounts; undefined without --mount. */
  shares?: MountPlan;
  /** Over ssh: roost's pool and sockets dir on the daemon's host, where the VM's files go. */
  remote?: RemotePlace;
}

async function makeVm(m: Making, defineFlags: Promise<number>): Promise<CreateResult> {
  const plan = await planVm(m);
  if (plan.remote) m.c = await (await createRemoteModule()).uploadBootFiles(m, plan.remote);
  const disk = await makeDisk(m, plan);
  const login = await makeLogin(m, plan);
  const { sizes, accel, nics, shares, remote } = plan;
  const spec = buildSpec(m.ctx, m.c, m.req, sizes, accel, nics, disk?.path, login, shares, remote);
  const started = m.req.start ?? true;
  const startPrep = started ? prepareStart(m.ctx, plan.ports) : undefined;
  startPrep?.catch(() => undefined); // awaited by the start step, or not at all when an earlier step fails
  // What the end of a create needs (the ssh side, with node:crypto) loads while the VM starts, the longest wait.
  let sshModule: Promise<typeof import('./ssh.js')> | undefined;
  const loadSsh = () => {
    sshModule ??= import('./ssh.js');
    sshModule.catch(() => undefined); // awaited at the end, or not at all when a step fails
    return sshModule;
  };
  m.onPhase('defining');
  const defined = await m.steps.run('define', 'defining the VM', async () => {
    await disk?.made; // the name's claim (create-make.ts)
    login.placeSeed?.();
    return defineVm(m.ctx, spec, defineFlags, m.rollback, {
      accel: plan.accel,
      forced: m.req.accel === 'kvm',
      cacheFile: `${m.ctx.paths.cache}/accel.json`,
    });
  });
  let dom = defined.dom;
  if (startPrep) {
    m.onPhase('starting');
    dom = await m.steps.run('start', 'starting the VM', () =>
      startVm(m.ctx, dom, spec.uuid!, m.rollback, plan.ports, startPrep, loadSsh),
    );
  }
  // The last boundary: an interruption during the start is still rolled back.
  await m.steps.boundary('done');
  const made = { dom, xml: defined.xml, started, disk, login };
  return finishCreate(m, { ...plan, accel: defined.accel }, made, await loadSsh());
}

/** The steps that decide (the name and ports free, the image, sizes, forwards, NICs, accel); nothing is made. */
async function planVm({ ctx, c, req, onPhase, steps }: Making): Promise<Plan> {
  const host = await steps.run('check', 'checking the name and ports', () => checkHost(ctx, c));
  if (isRemote(ctx) && c.mounts.length > 0) throw remoteMountsRefused();
  const shares = c.mounts.length > 0 ? await planShares(ctx, c, req) : undefined;
  const remote = isRemote(ctx) ? await (await remoteModule()).remotePlace(ctx) : undefined;
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
  const { ports, addedPorts } = await planSshForward(c, withSeed, host);
  const nics = nicsWithMacs(c, ports, req.hostAccess);
  const accel = remote
    ? await (await createRemoteModule()).remoteAccel(ctx, req.accel ?? 'auto')
    : await chooseAccel(req.accel ?? 'auto', ctx.paths.cache);
  return { image, entry, withSeed, sizes, ports, addedPorts, nics, accel, shares, remote };
}

// Shared folders and a remote daemon's uploads load only for a create that has them: a plain local create would
// pay for their modules at its start.
const mountsModule = () => import('./mounts.js');
const remoteModule = () => import('./remote.js');
const createRemoteModule = () => import('./create-remote.js');

/** Which type the host gives is known before anything is made: a forced virtiofs it cannot run is refused here. */
async function planShares(ctx: VmContext, c: Checked, req: CreateRequest): Promise<MountPlan> {
  const { chooseMountType, hostMountSupport, planMounts } = await mountsModule();
  return planMounts(c.mounts, chooseMountType(req.mountType ?? 'auto', await hostMountSupport(ctx)));
}

/** A shared folder is a directory of the host QEMU runs on: over ssh that is the other host, not this one. */
function remoteMountsRefused(): UsageError {
  return new UsageError(
    'REMOTE_MOUNTS',
    'shared folders (--mount) share a directory of the host the VM runs on, and this VM would run on another host',
    { hint: 'create it without --mount, or create it on this host' },
  );
}

/** The disk, when the VM has one: an overlay on the image, or an empty disk for an installer. */
async function makeDisk(m: Making, plan: Plan): Promise<DiskInMaking | undefined> {
  const diskBytes = plan.sizes.diskBytes;
  if (diskBytes === undefined) return undefined;
  m.onPhase('disk');
  const remote = plan.remote;
  const image =
    remote && plan.image ? await (await createRemoteModule()).uploadImage(m, remote, plan.image) : plan.image;
  return m.steps.run('disk', 'creating the disk', () =>
    startDisk(m.ctx, m.c.name, diskBytes, image, m.rollback),
  );
}

/** The login roost records: from the seed it writes, else what the user gave. */
async function makeLogin(m: Making, plan: Plan): Promise<Login> {
  const { req } = m;
  if (!plan.withSeed) {
    return { sshUser: req.sshUser, sshKey: req.sshKey ? resolvePath(req.sshKey) : undefined };
  }
  m.onPhase('seed');
  const login = await m.steps.run('seed', 'writing the cloud-init seed', () =>
    writeSeed(m.ctx, m.c, req, plan.entry, plan.nics, m.rollback, plan.shares),
  );
  return plan.remote ? (await createRemoteModule()).uploadSeed(m, plan.remote, login) : login;
}

/** After the last step: the ssh side (host key, config) and the result. */
async function finishCreate(
  { ctx, c }: Making,
  plan: Plan,
  made: { dom: Domain; xml: string; started: boolean; disk: DiskInMaking | undefined; login: Login },
  { forgetHostKey, syncSshConfig }: typeof import('./ssh.js'),
): Promise<CreateResult> {
  const { ports, addedPorts, accel } = plan;
  const { login } = made;
  // A new VM of an old name has a new host key: forget the old one, and publish `ssh NAME.roost` (only for a
  // VM of this host: a remote VM's forwards listen on its host, out of reach of a plain `ssh NAME.roost`).
  const local = !plan.remote;
  const alias = local ? undefined : (await import('./remote-tunnel.js')).remoteSshAlias(ctx, c.name);
  forgetHostKey(ctx.paths, c.name, alias);
  const synced = local && login.sshUser ? await syncSshConfig(ctx).catch(() => undefined) : undefined;
  return {
    name: c.name,
    uuid: formatUuid(made.dom.uuid),
    accel,
    disk: made.disk?.path,
    ports,
    addedPorts,
    started: made.started,
    sshUser: login.sshUser,
    sshKey: login.sshKey,
    seed: login.seedPath,
    xml: made.xml,
    mounts: plan.shares ? createdMounts(c, plan.shares, plan.withSeed, await mountsModule()) : [],
    warnings: [
      ...ports.filter(exposesToNetwork).map(exposureWarning),
      ...(c.mounts.length > 0 ? (await import('./mount-check.js')).mountWarnings(c.mounts) : []),
      ...(plan.shares?.type === '9p' && plan.entry ? (await mountsModule()).no9pWarning(plan.entry) : []),
      ...(synced?.skipped ?? []).map((k) => `ssh config: VM '${k.vm}' left out: ${k.reason}`),
    ],
  };
}

/** The shared folders made, as create reports them. */
function createdMounts(
  c: Checked,
  shares: MountPlan,
  bySeed: boolean,
  { guestMountCommand }: typeof import('./mounts.js'),
): CreatedMount[] {
  return shares.guest.map((g, i) => ({
    tag: g.tag,
    type: g.type,
    hostDir: c.mounts[i]!.hostDir,
    guestDir: g.guestDir,
    mode: g.readonly ? 'ro' : 'rw',
    bySeed,
    guestCommand: guestMountCommand(g),
  }));
}
