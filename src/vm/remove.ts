// roost rm NAME: destroy + undefine with NVRAM, snapshot and checkpoint metadata, and the VM's own disks.
//
// What counts as the VM's own: writable disks that are volumes of roost's pool (libvirt says which pool a path
// belongs to: the VM's definition decides, not today's XDG_DATA_HOME), and the cloud-init seed beside that pool.
// A base image, an ISO, a kernel, or a disk a hand-made domain keeps elsewhere is never deleted — a typo in a
// name must not cost someone a disk they did not give to roost. A running VM needs --force, for the same reason.
// A shared base of linked clones (linked-base.ts) goes with the last VM that builds on it.
//
// Interruptions: a signal before the VM is powered off or undefined stops rm with nothing changed. From there on
// rm finishes (undefining and deleting take milliseconds): stopping half way would leave a VM without its disk or
// a disk without its VM. Every step can run twice, so a daemon that dies under one is reconnected to and the step
// is run again.
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseDomainXml, type ParsedDomain } from '../domain-xml/parse.js';
import { NotFoundError, RoostError, UsageError } from '../errors.js';
import { ConnectionClosedError, isNotFound } from '../libvirt/errors.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { DomainDestroyFlags, DomainUndefineFlags, DomainXmlFlags, type Domain } from '../libvirt/types.js';
import type { RemovedVm } from '../shared/vms.js';
import type { VmContext } from './context.js';
import { dropAutostartOf } from './autostart.js';
import { endStrayProcesses, qemuRunDir } from './leftovers.js';
import { backingsOf, releaseLinkedBases } from './linked-base.js';
import { lookupVm } from './lookup.js';
import { isRemote, remoteFilesOf, removeRemoteSocket } from './remote.js';
import { deleteVolumeAt, linkedClonesOf, ownDisks, POOL_NAME, poolVolumesAmong } from './storage.js';
import { snapshotFilesOf } from './snapshot.js';
import { forgetHostKey, syncSshConfig } from './ssh.js';
import { remoteSshAlias } from './remote-tunnel.js';
import { explainDaemonLoss, Steps } from './steps.js';

export interface RemoveOptions {
  force?: boolean;
  keepStorage?: boolean;
  /** Aborted when the user interrupts: rm stops if it has changed nothing yet (else it finishes). */
  signal?: AbortSignal;
  /** For the test hook (steps.ts): default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** What was removed, as `roost rm --json` prints it. */
export type RemoveResult = RemovedVm;

export async function removeVm(
  ctx: VmContext,
  name: string,
  opts: RemoveOptions = {},
): Promise<RemoveResult> {
  const { client } = ctx;
  const steps = new Steps('rm', { signal: opts.signal, env: opts.env });
  const found = await findVmOrLeftovers(ctx, name, steps);
  if (!('uuid' in found)) return found;
  const dom = found;
  const [running, xml] = await steps.run('inspect', `reading VM '${name}'`, () =>
    again(() => Promise.all([client.isActive(dom), client.getXml(dom, DomainXmlFlags.INACTIVE)])),
  );
  if (running && !opts.force) {
    throw new RoostError('VM_RUNNING', `VM '${name}' is running; it was not removed`, {
      hint: `stop it first (roost stop ${name}), or remove it anyway: roost rm --force ${name}`,
    });
  }
  const parsed = parseDomainXml(xml);
  const ours = await steps.run('disks', `finding VM '${name}''s disks`, () =>
    again(() => ownDisks(client, parsed)),
  );
  // Undefining drops libvirt's snapshot records, not their files: the memory files and overlays in roost's pool
  // go with the VM, like its disks.
  const clones = opts.keepStorage ? [] : await again(() => linkedClonesOf(client, ours));
  if (clones.length > 0) {
    throw new UsageError(
      'DISK_IN_USE',
      `VM '${name}' was not removed: its disk is the base of linked clones (${clones.join(', ')})`,
      { hint: `remove the clones first (roost rm CLONE), or keep the disk: roost rm --keep-storage ${name}` },
    );
  }
  const snapshotFiles = await steps.run('snapshots', `finding VM '${name}''s snapshot files`, () =>
    again(async () => poolVolumesAmong(client, await snapshotFilesOf(ctx, dom))),
  );
  // A remote VM's kernel, seed, log and base image are volumes of the pool there (remote.ts).
  const remoteFiles = isRemote(ctx) ? await again(() => remoteFilesOf(client, parsed, name, ours)) : [];
  // An interruption stops rm before its first change (the power-off, or the undefine of a VM that is off), and
  // no later.
  if (running) await powerOff(client, dom, steps);
  await undefine(client, dom, steps, running);
  const seeds = isRemote(ctx)
    ? remoteFiles.filter((f) => f.endsWith('.seed.iso'))
    : seedsOf(ctx, parsed, name, ours);
  const keptDisks = parsed.disks
    .filter((d) => d.path && !ours.includes(d.path) && !seeds.includes(d.path))
    .map((d) => d.path!);
  await steps.pastNoReturn('delete');
  let deletedDisks: string[] = [];
  if (opts.keepStorage) keptDisks.push(...ours);
  else
    deletedDisks = await deleteStorage(client, name, [
      ...ours,
      ...[...snapshotFiles, ...remoteFiles].filter((f) => !ours.includes(f)),
    ]);
  await cleanUpAfter(ctx, parsed, name, seeds, running);
  return { name, destroyed: running, deletedDisks, keptDisks };
}

/** The VM; or, when there is none, what an interrupted create left under its name, removed. */
async function findVmOrLeftovers(ctx: VmContext, name: string, steps: Steps): Promise<Domain | RemoveResult> {
  return steps
    .run('lookup', `looking up VM '${name}'`, () => again(() => lookupVm(ctx, name)))
    .catch(async (e: unknown) => {
      if (!(e instanceof NotFoundError)) throw e;
      const left = await removeLeftovers(ctx, name);
      if (left) return left;
      throw e;
    });
}

async function powerOff(client: LibvirtClient, dom: Domain, steps: Steps): Promise<void> {
  await steps.run('destroy', `powering off VM '${dom.name}'`, () =>
    again(() =>
      client.destroyDomain(dom, DomainDestroyFlags.REMOVE_LOGS).catch(async (e: unknown) => {
        // It stopped meanwhile (or this is the retry, and the first went through).
        if (!(await client.isActive(dom))) return;
        throw e;
      }),
    ),
  );
}

/** Undefines the VM with its NVRAM and metadata; past the point of no return once it was powered off. */
async function undefine(
  client: LibvirtClient,
  dom: Domain,
  steps: Steps,
  poweredOff: boolean,
): Promise<void> {
  await steps.run(
    'undefine',
    `undefining VM '${dom.name}'`,
    () =>
      again(() =>
        client
          .undefineDomain(
            dom,
            DomainUndefineFlags.MANAGED_SAVE |
              DomainUndefineFlags.SNAPSHOTS_METADATA |
              DomainUndefineFlags.NVRAM |
              DomainUndefineFlags.CHECKPOINTS_METADATA,
          )
          .catch((e: unknown) => {
            if (!isNotFound(e)) throw e; // the retry, and the first went through
          }),
      ),
    { stoppable: !poweredOff },
  );
}

/**
 * The VM's disks and snapshot files, then each shared base of linked clones (linked-base.ts) that nothing builds
 * on any more: the last VM of a base takes it with it, the others leave it.
 */
async function deleteStorage(client: LibvirtClient, name: string, files: string[]): Promise<string[]> {
  const backings = await again(() => backingsOf(client, files));
  const deleted = await deleteOwnDisks(client, name, files);
  try {
    return [...deleted, ...(await again(() => releaseLinkedBases(client, backings)))];
  } catch (e) {
    throw new RoostError(
      'DISK_DELETE_FAILED',
      `VM '${name}' and its disks were removed, but not the shared base it was the last user of: ${(explainDaemonLoss(e, 'deleting it') as Error).message}`,
      { hint: `delete it by hand: virsh vol-delete ${backings.join(' ')}`, cause: e },
    );
  }
}

/** Deletes the VM's own disks; one that cannot be deleted is named with the command that deletes it. */
async function deleteOwnDisks(client: LibvirtClient, name: string, ours: string[]): Promise<string[]> {
  const deletedDisks: string[] = [];
  for (const path of ours) {
    try {
      if (await again(() => deleteVolumeAt(client, path))) deletedDisks.push(path);
    } catch (e) {
      throw new RoostError(
        'DISK_DELETE_FAILED',
        `VM '${name}' was removed but its disk ${path} was not: ${(explainDaemonLoss(e, 'deleting it') as Error).message}`,
        { hint: `delete it by hand: virsh vol-delete ${path}`, cause: e },
      );
    }
  }
  return deletedDisks;
}

/** What else the VM had on the host: roost's files, stray processes, its ssh host key and config. */
async function cleanUpAfter(
  ctx: VmContext,
  parsed: ParsedDomain,
  name: string,
  seeds: string[],
  wasRunning: boolean,
): Promise<void> {
  dropAutostartOf(ctx.uri, name, ctx.env);
  // Nothing of a remote VM is on this host (its files went with its volumes): no local path may be touched —
  // only its host key in roost's known_hosts, under the alias that names its host.
  if (isRemote(ctx)) {
    forgetHostKey(ctx.paths, name, remoteSshAlias(ctx, name));
    return removeRemoteSocket(ctx, name);
  }
  removeOwnFiles(ctx, parsed, name, seeds);
  const runDir = qemuRunDir(ctx);
  if (wasRunning && runDir) await endStrayProcesses(ctx, runDir).catch(() => undefined);
  forgetHostKey(ctx.paths, name);
  if (parsed.roost?.sshUser) await syncSshConfig(ctx).catch(() => undefined);
}

/** Runs `step`, and once more when the daemon went away under it (the next call reconnects). */
async function again<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (!(e instanceof ConnectionClosedError)) throw e;
    return step();
  }
}

/**
 * The cloud-init seed roost wrote for this VM (roost's own file too, and useless without the VM): NAME.iso in
 * the seeds directory beside roost's pool directory, or in today's.
 */
function seedsOf(ctx: VmContext, parsed: ParsedDomain, name: string, ownDisks: string[]): string[] {
  const dirs = new Set([join(ctx.paths.data, 'seeds')]);
  for (const d of ownDisks) dirs.add(join(dirname(dirname(d)), 'seeds'));
  return parsed.disks
    .filter(
      (d) =>
        d.device === 'cdrom' && d.path && basename(d.path) === `${name}.iso` && dirs.has(dirname(d.path)),
    )
    .map((d) => d.path!);
}

/** roost's own per-VM files: the serial log it asked QEMU to write (libvirt removes the QEMU log), the seed. */
function removeOwnFiles(ctx: VmContext, parsed: ParsedDomain, name: string, seeds: string[]): void {
  const log = parsed.serialLog;
  // Where roost writes serial logs (…/roost/logs/NAME.serial.log), under whichever XDG_STATE_HOME it was.
  if (log && basename(log) === `${name}.serial.log` && /\/roost\/logs$/.test(dirname(log))) {
    rmSync(log, { force: true });
  }
  rmSync(join(ctx.paths.sockets, `${name}.vnc`), { force: true });
  for (const s of seeds) rmSync(s, { force: true });
}

/**
 * No VM of this name: what a create cut short before roost could roll back (a killed process, an older roost)
 * may still hold the name — its disk in roost's pool and its seed. Removes those; undefined when there are none.
 */
async function removeLeftovers(ctx: VmContext, name: string): Promise<RemoveResult | undefined> {
  const { client } = ctx;
  const pool = await client.lookupStoragePool(POOL_NAME).catch(() => undefined);
  const vol = pool && (await client.lookupVolume(pool, `${name}.qcow2`).catch(() => undefined));
  const deletedDisks: string[] = [];
  if (vol) {
    const path = await client.getVolumePath(vol);
    await client.deleteVolume(vol);
    deletedDisks.push(path);
  }
  if (isRemote(ctx)) return leftoversResult(name, deletedDisks);
  // The seed, placed or still under the name its create wrote it as (NAME.iso.PID.tmp).
  const seedDir = join(ctx.paths.data, 'seeds');
  const seedOf = new RegExp(`^${name.replace(/\./g, '\\.')}\\.iso(\\.\\d+\\.tmp)?$`);
  for (const f of listDir(seedDir).filter((f) => seedOf.test(f))) {
    rmSync(join(seedDir, f), { force: true });
    deletedDisks.push(join(seedDir, f));
  }
  return leftoversResult(name, deletedDisks);
}

function leftoversResult(name: string, deletedDisks: string[]): RemoveResult | undefined {
  if (deletedDisks.length === 0) return undefined;
  return { name, destroyed: false, deletedDisks, keptDisks: [], leftoversOnly: true };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
