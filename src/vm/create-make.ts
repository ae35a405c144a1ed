// The steps of `roost create` that make something (create.ts runs them in order after the planning steps of
// create-steps.ts): the disk, the seed, the defined VM and its start. Each registers its undo with the create's
// Rollback before (or as) it makes it.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { buildDomainXml } from '../domain-xml/build.js';
import type { NicSpec, VmSpec } from '../domain-xml/spec.js';
import { UsageError } from '../errors.js';
import type { ImageEntry } from '../images/types.js';
import { withAccelRetry, type AccelDecision } from '../host/accel.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { ConnectionClosedError, isNotFound, LibvirtError, VirErrorCode } from '../libvirt/errors.js';
import { DomainDefineFlags, DomainDestroyFlags, DomainUndefineFlags, type Domain } from '../libvirt/types.js';
import type { PortForward } from '../net/port-spec.js';
import type { ListenerSnapshot } from './port-bound.js';
import { ensurePrivateDir } from '../paths.js';
import { isRemote, type VmContext } from './context.js';
import type { Checked, CreateRequest } from './create.js';
import {
  cloudInitModule,
  DEFAULT_CLOUD_USER,
  nameTakenError,
  type BaseImage,
  type Login,
} from './create-steps.js';
import { endStrayProcesses, qemuRunDir, removeRuntimeFiles } from './leftovers.js';
import type { MountPlan } from './mounts.js';
import type { Rollback } from './rollback.js';
import { createDisk, deleteVolumeAt, ensurePool, poolVolumesAmong } from './storage.js';

/** Deletes a remote VM's serial log (a file QEMU made in the pool, a volume once the pool is refreshed). */
async function removeRemoteLog(client: LibvirtClient, log: string | undefined): Promise<void> {
  if (!log) return;
  for (const path of await poolVolumesAmong(client, [log])) await deleteVolumeAt(client, path);
}

// --- the disk --------------------------------------------------------------------------------------------------

export interface DiskInMaking {
  /** Where the VM expects it (libvirt names a dir pool's volume files <dir>/<volume name>). */
  path: string;
  /** Settles when libvirt has made it; a rejection is already explained (NAME_TAKEN when the name is taken). */
  made: Promise<void>;
}

/**
 * Starts making the VM's disk, a qcow2 overlay on the base image (libvirt runs qemu-img), and returns
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
    ...(shares ? (await import('./mounts.js')).seedMounts(shares) : {}),
  });
  const placeSeed = () => {
    renameSync(written, seedPath);
    placed = true;
  };
  return { sshUser, sshKey, seedPath, placeSeed, writtenSeed: written };
}

// --- define and start ------------------------------------------------------------------------------------------

/** libvirt 9.0 added passt (`<backend type='passt'>`, `<portForward>`); older daemons drop both without a word. */
const PASST_SINCE = 9_000_000n;

/**
 * Flags for defining a new VM on a daemon of this version. Not VIR_DOMAIN_DEFINE_VALIDATE where libvirt knows
 * everything roost writes: its RelaxNG pass adds to every create and could only catch a fault of the
 * builder, whose every shape the tests check with virt-xml-validate (build.test.ts); what users type is checked
 * before. Below 9.0 the schema check is what turns "passt silently dropped" into a refusal, so it is asked for.
 * (Edits of hand-made domains, edit.ts and ports.ts, always validate.)
 */
export function defineFlagsFor(libVersion: bigint): number {
  return libVersion < PASST_SINCE ? DomainDefineFlags.VALIDATE : 0;
}

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
      if (dom) await client.undefineDomain(dom, DomainUndefineFlags.NVRAM);
      const defined = dom !== undefined;
      // A remote VM's files are the remote host's: its serial log is a volume of the pool there.
      if (isRemote(ctx)) {
        await removeRemoteLog(client, spec.serialLog);
        await (await import('./remote.js')).removeRemoteSocket(ctx, spec.name);
      } else {
        if (spec.serialLog) rmSync(spec.serialLog, { force: true });
        if (spec.vnc?.socket) rmSync(spec.vnc.socket, { force: true });
      }
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

/** What the start needs from this side: its modules, and the listeners from before passt starts (port-bound.ts). */
export interface StartPrep {
  start: typeof import('./start.js');
  before: ListenerSnapshot | undefined;
}

/**
 * Gets the start ready while libvirt is still making the disk and defining the VM: loading the modules and reading
 * the host's listeners then costs the create nothing.
 */
export async function prepareStart(ctx: VmContext, ports: readonly PortForward[]): Promise<StartPrep> {
  const [start, portBound] = await Promise.all([import('./start.js'), import('./port-bound.js')]);
  return { start, before: await portBound.listenersBefore(ctx, ports) };
}

/**
 * Starts the VM; the undo powers it off again (whether or not the daemon answered the start). `whileStarting` runs
 * once the start is asked for: work of the caller's that fills the wait.
 */
export async function startVm(
  ctx: VmContext,
  dom: Domain,
  uuid: string,
  rollback: Rollback,
  ports: readonly PortForward[],
  prep: Promise<StartPrep>,
  whileStarting: () => void = () => {},
): Promise<Domain> {
  const { client } = ctx;
  rollback.add({
    what: `the running VM '${dom.name}'`,
    fix: `roost rm --force ${dom.name}`,
    run: async () => {
      const ours = await ourDomain(client, dom.name, uuid);
      if (!ours || !(await client.isActive(ours))) return false;
      await client.destroyDomain(ours, DomainDestroyFlags.REMOVE_LOGS).catch(async (e: unknown) => {
        // It stopped on its own meanwhile: nothing to power off.
        if (!(await client.isActive(ours))) return;
        throw e;
      });
    },
  });
  const { start, before } = await prep;
  const starting = client.startDomain(dom);
  whileStarting();
  const started = await starting.catch(async (e: unknown) => {
    // passt's own words for a port it cannot bind, said as roost's (which port, and the fix).
    throw (await start.passtStartError(dom.name, e, ports)) ?? e;
  });
  // passt drops a forward it cannot bind without failing: a port taken since the checks is found here.
  await start.stopUnlessForwarded(ctx, started, ports, before);
  return started;
}
