// roost start: boots a defined VM. Starting one that already runs is not an error (the state asked for holds).
//
// Two things a start can get wrong without libvirt saying so, and roost checks:
//  - a VM defined for KVM on a host (or in a boot) where KVM is now refused: the daemon is believed, the VM is
//    defined again for TCG and started, and the caller is told (host/accel.ts withAccelRetry, as create does);
//  - a forward whose host port another program holds: passt drops it silently, so after the start every
//    forward is checked to be listened on by the VM's passt (port-bound.ts); if one is not, the VM is stopped
//    again and the error names the port and who holds it.
import { editDomainXml } from '../domain-xml/edit.js';
import { parseDomainXml } from '../domain-xml/parse.js';
import { firstChild } from '../domain-xml/xml.js';
import { RoostError } from '../errors.js';
import { withAccelRetry, type AccelDecision } from '../host/accel.js';
import { LibvirtError } from '../libvirt/errors.js';
import { DomainDefineFlags, DomainDestroyFlags, DomainXmlFlags, type Domain } from '../libvirt/types.js';
import { explainBindFailure, isPasstBindFailure } from '../net/port-check.js';
import type { PortForward } from '../net/port-spec.js';
import type { VmContext } from './context.js';
import { toPortForward } from './forwards.js';
import { lookupVm } from './lookup.js';
import { checkForwardsBound, listenersBefore, type ListenerSnapshot } from './port-bound.js';
import { forwardFor, type WaitFor } from './wait.js';

export interface StartResult {
  name: string;
  alreadyRunning: boolean;
  /** The VM was created with --auto-ports: the caller starts the watcher (vm/auto-ports.ts). */
  autoPorts: boolean;
  /** Its port forwards, for `--wait port:N`. */
  ports: PortForward[];
  /** Set when KVM was refused and the VM was defined again for TCG: why (for a warning). */
  accelChanged?: string;
}

export interface StartOptions {
  /** What the caller will wait for: a `port:N` that no forward carries is refused before anything starts. */
  wait?: WaitFor;
  /** Probes the host's accelerator afresh after a KVM refusal (tests replace it; default: accel.ts's probe). */
  probeAccel?: () => Promise<AccelDecision>;
}

export async function startVm(ctx: VmContext, name: string, opts: StartOptions = {}): Promise<StartResult> {
  const dom = await lookupVm(ctx, name);
  const parsed = parseDomainXml(await ctx.client.getXml(dom));
  const autoPorts = parsed.roost?.autoPorts === true;
  const ports = parsed.nics.flatMap((n) => n.ports.map(toPortForward));
  if (opts.wait?.kind === 'port') forwardFor(ports, opts.wait.port);
  if (await ctx.client.isActive(dom)) return { name, alreadyRunning: true, autoPorts, ports };
  let started: Domain;
  let accelChanged: string | undefined;
  const before = await listenersBefore(ctx, ports);
  try {
    const asDefined: AccelDecision = {
      accel: parsed.accel === 'kvm' ? 'kvm' : 'tcg',
      reason: `VM '${name}' is defined for ${parsed.accel === 'kvm' ? 'KVM' : 'TCG'}`,
      bootId: '',
      cached: false,
    };
    const { value, accel } = await withAccelRetry(
      asDefined,
      async (a) => {
        if (a !== asDefined) await defineForTcg(ctx, dom);
        return ctx.client.startDomain(dom);
      },
      { cacheFile: `${ctx.paths.cache}/accel.json`, probe: opts.probeAccel },
    );
    started = value;
    if (accel !== asDefined) {
      accelChanged = `KVM was refused (${accel.reason}): VM '${name}' is now defined for TCG and started with it`;
    }
  } catch (e) {
    throw await startError(name, e, ports);
  }
  await stopUnlessForwarded(ctx, started, ports, before);
  return { name, alreadyRunning: false, autoPorts, ports, ...(accelChanged ? { accelChanged } : {}) };
}

/**
 * Defines the VM again with `<domain type='qemu'>` (TCG) and a CPU TCG can give (host-passthrough and host-model
 * need KVM); everything else in its definition stays.
 */
async function defineForTcg(ctx: VmContext, dom: Domain): Promise<void> {
  const xml = await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE | DomainXmlFlags.SECURE);
  await ctx.client.defineDomain(tcgXml(xml), DomainDefineFlags.VALIDATE);
}

/** The domain XML with TCG for KVM: the type, and a CPU mode that needs no KVM. */
export function tcgXml(xml: string): string {
  return editDomainXml(xml, (domain) => {
    domain.attrs.set('type', 'qemu');
    const cpu = firstChild(domain, 'cpu');
    const mode = cpu?.attrs.get('mode');
    if (cpu && (mode === 'host-passthrough' || mode === 'host-model')) cpu.attrs.set('mode', 'maximum');
  });
}

/**
 * After a start: every forward must be listened on by the VM's passt; if one is not (another program holds the
 * port), the VM is powered off again and the error says which port and who holds it. `before`: the listeners
 * from before the start (port-bound.ts listenersBefore).
 */
export async function stopUnlessForwarded(
  ctx: VmContext,
  dom: Domain,
  ports: readonly PortForward[],
  before: ListenerSnapshot | undefined,
): Promise<void> {
  try {
    await checkForwardsBound(ctx, dom, ports, before);
  } catch (e) {
    if (!(e instanceof RoostError)) throw e;
    await ctx.client.destroyDomain(dom, DomainDestroyFlags.REMOVE_LOGS).catch(() => undefined);
    const stopped = !(await ctx.client.isActive(dom).catch(() => true));
    throw new RoostError(
      e.code,
      stopped
        ? `VM '${dom.name}' was stopped again right after its start: ${e.message}`
        : `VM '${dom.name}' started, but ${e.message}; stopping it again failed (roost stop --force ${dom.name})`,
      { hint: e.hint, cause: e },
    );
  }
}

/** What a failed start says to the user: roost's account of a passt bind failure, else libvirt's words. */
export async function startError(name: string, e: unknown, ports: readonly PortForward[]): Promise<unknown> {
  if (!(e instanceof LibvirtError)) return e;
  return (
    (await passtStartError(name, e, ports)) ??
    new RoostError('START_FAILED', `VM '${name}' did not start: ${e.message}`, {
      hint: `see the VM's QEMU log: roost logs ${name} --qemu`,
      cause: e,
    })
  );
}

/**
 * passt's own words when it cannot listen on a forwarded port ("Failed to bind any port for '-t …'") as roost's:
 * which port, why (in use by another program, an address this host does not have) and the fix. Undefined for any
 * other failure. Also for create's start.
 */
export async function passtStartError(
  name: string,
  e: unknown,
  ports: readonly PortForward[],
): Promise<RoostError | undefined> {
  if (!isPasstBindFailure(e)) return undefined;
  const why = await explainBindFailure(ports, name);
  if (!why) return undefined;
  return new RoostError(why.code, `VM '${name}' did not start: ${why.message}`, { hint: why.hint, cause: e });
}
