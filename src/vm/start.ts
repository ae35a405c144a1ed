// roost start: boots a defined VM. Starting one that already runs is not an error (the state asked for holds).
import { parseDomainXml } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import { LibvirtError } from '../libvirt/errors.js';
import { explainBindFailure, isPasstBindFailure } from '../net/port-check.js';
import type { PortForward } from '../net/port-spec.js';
import type { VmContext } from './context.js';
import { toPortForward } from './forwards.js';
import { lookupVm } from './lookup.js';
import { forwardFor, type WaitFor } from './wait.js';

export interface StartResult {
  name: string;
  alreadyRunning: boolean;
  /** The VM was created with --auto-ports: the caller starts the watcher (vm/auto-ports.ts). */
  autoPorts: boolean;
  /** Its port forwards, for `--wait port:N`. */
  ports: PortForward[];
}

export interface StartOptions {
  /** What the caller will wait for: a `port:N` that no forward carries is refused before anything starts. */
  wait?: WaitFor;
}

export async function startVm(ctx: VmContext, name: string, opts: StartOptions = {}): Promise<StartResult> {
  const dom = await lookupVm(ctx, name);
  const parsed = parseDomainXml(await ctx.client.getXml(dom));
  const autoPorts = parsed.roost?.autoPorts === true;
  const ports = parsed.nics.flatMap((n) => n.ports.map(toPortForward));
  if (opts.wait?.kind === 'port') forwardFor(ports, opts.wait.port);
  if (await ctx.client.isActive(dom)) return { name, alreadyRunning: true, autoPorts, ports };
  try {
    await ctx.client.startDomain(dom);
  } catch (e) {
    throw await startError(name, e, ports);
  }
  return { name, alreadyRunning: false, autoPorts, ports };
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
