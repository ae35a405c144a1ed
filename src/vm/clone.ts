// roost clone SRC DST: a shut-off VM (or, with --stop, a running one, shut down first) becomes a second VM of its
// own. The source's persistent definition is copied as it is (domain-xml/edit.ts cloneDomainXml) with what makes
// a VM itself made new: name, UUID, MAC addresses, NVRAM (a fresh copy of the firmware's template), its own disk,
// its own cloud-init seed with a new instance-id (cloud-init then regenerates the ssh host keys; the seed also
// has the guest make a new machine-id), its own host ports, and no known_hosts entry of anyone else.
//
// The disk is a full copy by default (libvirt's volume clone: qemu-img convert, independent of the source and of
// its base image). --linked is O(1): the source's disk becomes a read-only shared base, and the source and the
// clone each get an overlay of it (clone-disks.ts, linked-base.ts), so neither writes what the other reads.
//
// Like create: everything is checked before anything is made, the steps register their undo, and a failure or
// an interruption (Ctrl-C, SIGTERM, SIGHUP at the next step boundary) removes what the clone made.
import { basename, dirname, join } from 'node:path';
import { cloneDomainXml, setPortForwards, setRoostMetadata } from '../domain-xml/edit.js';
import { parseDomainXml, type ParsedDomain, type ParsedDisk } from '../domain-xml/parse.js';
import type { NicSpec } from '../domain-xml/spec.js';
import type { CloudConfig } from '../cloud-init/index.js';
import { UsageError } from '../errors.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { isNotFound, LibvirtError, VirErrorCode } from '../libvirt/errors.js';
import { DomainDefineFlags, DomainUndefineFlags, DomainXmlFlags, type Domain } from '../libvirt/types.js';
import { checkForwards, type ExistingForward } from '../net/port-check.js';
import { parsePortForward, type PortForward } from '../net/port-spec.js';
import { exposesToNetwork, exposureWarning, toPortForwardSpec } from '../net/ports.js';
import { ensurePrivateDir } from '../paths.js';
import { VERSION } from '../version.js';
import type { VmContext } from './context.js';
import { nameTakenError, randomUuid } from './create-steps.js';
import { writeSeed } from './create-make.js';
import type { Checked } from './create-check.js';
import { existingForwards } from './forwards.js';
import { checkVmName, randomMac } from './input.js';
import { formatUuid, lookupVm } from './lookup.js';
import { Rollback, withRollback } from './rollback.js';
import { forgetHostKey, syncSshConfig } from './ssh.js';
import { explainDaemonLoss, Steps } from './steps.js';
import { stopVm } from './stop.js';
import { planClonePorts } from './clone-ports.js';
import { withoutApplyMark } from './apply-mark.js';
export { planClonePorts } from './clone-ports.js';
import { ensurePool } from './storage.js';
import { checkCloneDisks, checkNoSnapshots, cloneDisks } from './clone-disks.js';
export { diskVolumeName } from './clone-disks.js';

export interface CloneRequest {
  source: string;
  name: string;
  /** A qcow2 overlay on the source's disk instead of a full copy. */
  linked?: boolean;
  /** The clone's forwards (HOST:GUEST as in create); absent: a free host port for each of the source's. */
  ports?: string[];
  /** Shut a running source down first (it is left shut off). */
  stop?: boolean;
}

export type ClonePhase = 'stopping' | 'disk' | 'seed' | 'defining';

export interface CloneResult {
  name: string;
  source: string;
  uuid: string;
  linked: boolean;
  disks: string[];
  ports: PortForward[];
  /** Host ports roost chose in place of the source's. */
  chosenPorts: PortForward[];
  /** The source was running and was shut down (--stop). */
  stoppedSource: boolean;
  seed?: string;
  sshUser?: string;
  warnings: string[];
}

export interface CloneControl {
  signal?: AbortSignal;
  stopRollback?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

interface Plan {
  source: Domain;
  parsed: ParsedDomain;
  xml: string;
  running: boolean;
  disks: ParsedDisk[];
  seed: ParsedDisk | undefined;
  ports: PortForward[] | undefined;
  existing: ExistingForward[];
}

export async function cloneVm(
  ctx: VmContext,
  req: CloneRequest,
  onPhase: (p: ClonePhase) => void = () => {},
  control: CloneControl = {},
): Promise<CloneResult> {
  const plan = await checkClone(ctx, req);
  const steps = new Steps('clone', control);
  const rollback = new Rollback();
  try {
    return await makeClone(ctx, req, plan, onPhase, steps, rollback);
  } catch (err) {
    if (rollback.empty) throw explainDaemonLoss(err, 'cloning');
    await steps.beforeRollback();
    const report = await rollback.run(control.stopRollback);
    throw withRollback(err, report);
  }
}

/** Everything that can be refused is refused here, with nothing changed (UsageError: exit 2). */
export async function checkClone(ctx: VmContext, req: CloneRequest): Promise<Plan> {
  const name = checkVmName(req.name);
  if (name === req.source) {
    throw new UsageError('SAME_NAME', `a clone needs a name of its own, not '${name}'`, {
      hint: `for example: roost clone ${req.source} ${req.source}-2`,
    });
  }
  const ports = req.ports?.map(parsePortForward);
  const source = await lookupVm(ctx, req.source);
  const { client } = ctx;
  if (
    await client.lookupDomain(name).then(
      () => true,
      (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
    )
  ) {
    throw nameTakenError(name);
  }
  const [running, xml] = await Promise.all([
    client.isActive(source),
    client.getXml(source, DomainXmlFlags.INACTIVE | DomainXmlFlags.SECURE),
  ]);
  if (running && !req.stop) {
    throw new UsageError('VM_RUNNING', `VM '${req.source}' is running: a clone is made of a shut-off VM`, {
      hint: `stop it first (roost stop ${req.source}), or let clone do it: roost clone --stop ${req.source} ${name}`,
    });
  }
  const parsed = parseDomainXml(xml);
  const disks = await checkCloneDisks(ctx, req.source, name, parsed);
  if (req.linked) await checkNoSnapshots(client, source, req.source);
  const { dir } = await ensurePool(client, ctx.paths);
  const seedsDir = join(ctx.paths.data, 'seeds');
  const seed = parsed.disks.find(
    (d) => d.device === 'cdrom' && d.path !== undefined && basename(d.path) === `${req.source}.iso`,
  );
  if (seed && dirname(seed.path!) !== seedsDir && dirname(dirname(seed.path!)) !== dirname(dir)) {
    throw new UsageError(
      'SEED_NOT_ROOSTS',
      `VM '${req.source}' has a seed roost did not write: ${seed.path}`,
    );
  }
  const existing = await existingForwards(client);
  if (ports) await checkForwards(ports, { existing });
  return { source, parsed, xml, running, disks, seed, ports, existing };
}

async function makeClone(
  ctx: VmContext,
  req: CloneRequest,
  plan: Plan,
  onPhase: (p: ClonePhase) => void,
  steps: Steps,
  rollback: Rollback,
): Promise<CloneResult> {
  const { client } = ctx;
  const name = req.name;
  let stoppedSource = false;
  if (plan.running) {
    onPhase('stopping');
    // Not undone: the user asked for the source to be shut down, and a shut-down guest is no harm.
    await steps.run('stop', `shutting down VM '${req.source}'`, () => stopVm(ctx, req.source));
    stoppedSource = true;
  }
  const { ports, chosenPorts } = await steps.run('ports', 'choosing host ports', () =>
    planClonePorts(plan.parsed, plan.ports, plan.existing),
  );
  onPhase('disk');
  const paths = await cloneDisks(ctx, { ...req, sourceDom: plan.source, disks: plan.disks }, steps, rollback);
  const macs = plan.parsed.nics.map(() => randomMac());
  const roost = plan.parsed.roost;
  let seedPath: string | undefined;
  if (plan.seed) {
    onPhase('seed');
    seedPath = await cloneSeed(ctx, name, plan, macs, steps, rollback);
    paths.set(plan.seed.path!, seedPath);
  }
  onPhase('defining');
  const uuid = randomUuid();
  const xml = cloneXml(ctx, plan, { name, uuid, macs, paths, ports });
  const dom = await steps.run('define', 'defining the clone', () =>
    defineClone(client, name, uuid, xml, rollback),
  );
  // The last boundary: an interruption after the define still removes the clone.
  await steps.boundary('done');
  forgetHostKey(ctx.paths, name);
  const synced = roost?.sshUser ? await syncSshConfig(ctx).catch(() => undefined) : undefined;
  return {
    name,
    source: req.source,
    uuid: formatUuid(dom.uuid),
    linked: !!req.linked,
    disks: [...paths.values()].filter((p) => p !== seedPath),
    ports,
    chosenPorts,
    stoppedSource,
    seed: seedPath,
    sshUser: roost?.sshUser,
    warnings: [
      ...ports.filter(exposesToNetwork).map(exposureWarning),
      ...(synced?.skipped ?? []).map((k) => `ssh config: VM '${k.vm}' left out: ${k.reason}`),
    ],
  };
}

/**
 * cloud-init makes new ssh host keys for a new instance-id, but it keeps /etc/machine-id, which systemd wrote at
 * the source's first boot: the clone empties it once (cloud-init-per instance) and systemd makes its own.
 */
export const NEW_MACHINE_ID: CloudConfig = {
  bootcmd: [
    [
      'cloud-init-per',
      'instance',
      'roost-machine-id',
      'sh',
      '-c',
      'rm -f /etc/machine-id && systemd-machine-id-setup',
    ],
  ],
};

/** A new seed for the clone: create's, with a new instance-id, so the guest makes new host keys. */
async function cloneSeed(
  ctx: VmContext,
  name: string,
  plan: Plan,
  macs: string[],
  steps: Steps,
  rollback: Rollback,
): Promise<string> {
  const roost = plan.parsed.roost;
  const nics: NicSpec[] = macs.map((mac) => ({ kind: 'user', mac, ports: [] }));
  const checked = { name, cloudInit: NEW_MACHINE_ID } as Checked;
  const login = await steps.run('seed', 'writing the cloud-init seed', () =>
    writeSeed(
      ctx,
      checked,
      { name, sshUser: roost?.sshUser, sshKey: roost?.sshKeyPath },
      undefined,
      nics,
      rollback,
    ),
  );
  login.placeSeed?.();
  return login.seedPath!;
}

/** The clone's domain XML: the source's, with its own identity, files, forwards and roost metadata. */
function cloneXml(
  ctx: VmContext,
  plan: Plan,
  c: { name: string; uuid: string; macs: string[]; paths: Map<string, string>; ports: PortForward[] },
): string {
  let xml = cloneDomainXml(withoutApplyMark(plan.xml), {
    name: c.name,
    uuid: c.uuid,
    macs: c.macs,
    paths: c.paths,
    serialLog: plan.parsed.serialLog && `${ensurePrivateDir(ctx.paths.logs)}/${c.name}.serial.log`,
    vncSocket: plan.parsed.vnc?.socket && `${ensurePrivateDir(ctx.paths.sockets)}/${c.name}.vnc`,
  });
  const userNic = plan.parsed.nics.findIndex((n) => n.type === 'user' && n.backend === 'passt');
  if (userNic >= 0) xml = setPortForwards(xml, userNic, c.ports.map(toPortForwardSpec));
  const roost = plan.parsed.roost;
  if (roost) {
    xml = setRoostMetadata(xml, {
      ...roost,
      createdBy: `roost ${VERSION}`,
      createdAt: new Date().toISOString(),
    });
  }
  return xml;
}

async function defineClone(
  client: LibvirtClient,
  name: string,
  uuid: string,
  xml: string,
  rollback: Rollback,
): Promise<Domain> {
  rollback.add({
    what: `VM '${name}'`,
    fix: `roost rm --force ${name}`,
    run: async () => {
      const dom = await client
        .lookupDomain(name)
        .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
      if (!dom || formatUuid(dom.uuid) !== uuid) return false;
      await client.undefineDomain(dom, DomainUndefineFlags.NVRAM);
    },
  });
  return client.defineDomain(xml, DomainDefineFlags.VALIDATE).catch((e: unknown) => {
    if (e instanceof LibvirtError && e.virErrorCode === VirErrorCode.DOM_EXIST) throw nameTakenError(name);
    throw e;
  });
}
