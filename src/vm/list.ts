// roost ls / roost info: what a user wants to see about their VMs, built from libvirt's state and domain XML.
// Domains made by hand (virsh define, virt-manager) are listed too; `managedBy` says which are roost's.
import { nicSource, parseDomainXml } from '../domain-xml/parse.js';
import { parseDomainSummary, type DomainSummary } from '../domain-xml/summary.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { DomainState, type Domain } from '../libvirt/types.js';
import { formatPortForward } from '../net/port-spec.js';
import { autostartVms, checkAutostartUri } from './autostart.js';
import type { VmContext } from './context.js';
import { toPortForward } from './forwards.js';
import type { VmDetails, VmSummary } from '../shared/api-types.js';
import { formatUuid, readEachVm, readVm, stateName } from './lookup.js';
import { mountRows } from './mount-rows.js';

export type { VmDetails, VmSummary } from '../shared/api-types.js';

function summarize(dom: Domain, state: number, p: DomainSummary, autostart: ReadonlySet<string>): VmSummary {
  return {
    name: dom.name,
    uuid: formatUuid(dom.uuid),
    state: stateName(state),
    accel: p.accel ?? p.domainType,
    cpus: p.cpus,
    memoryMiB: p.memoryMiB,
    ports: p.nics.flatMap((n) => n.ports.map((f) => formatPortForward(toPortForward(f)))),
    networks: p.nics.map((n) =>
      n.type === 'user' ? `user${n.backend === 'passt' ? '' : ` (${n.backend})`}` : nicSource(n),
    ),
    managedBy: p.managedByRoost ? 'roost' : 'other',
    autostart: autostart.has(dom.name),
  };
}

/**
 * The VMs roost's user units start at login: local files, read once per listing. Only a local session
 * connection's VMs are what those units start; a VM of the same name elsewhere is not.
 */
function startsAtLogin(ctx: VmContext): ReadonlySet<string> {
  try {
    checkAutostartUri(ctx.uri);
  } catch {
    return new Set();
  }
  return autostartVms(ctx.env);
}

/**
 * A VM's state and its XML read by `parse` (the full reader for `info`, the summary for `ls`). A domain that is
 * not running (id -1) is shut off whatever else is true of it, so only running ones are asked: `roost ls` of 50
 * stopped VMs makes 51 calls, not 101.
 */
async function readOne<T>(
  client: LibvirtClient,
  dom: Domain,
  parse: (xml: string) => T,
): Promise<{ state: number; parsed: T }> {
  const [state, xml] = await Promise.all([
    dom.id < 0 ? DomainState.SHUTOFF : client.getState(dom).then((s) => s.state),
    client.getXml(dom),
  ]);
  return { state, parsed: parse(xml) };
}

/**
 * All VMs, sorted by name. Calls are pipelined: one round trip's latency for any number of VMs. Each XML is read
 * for its summary only (domain-xml/summary.ts), a fraction of a full parse: `ls` reads them all. A VM removed
 * while it is read is left out (lookup.ts readEachVm).
 */
export async function listVms(ctx: VmContext): Promise<VmSummary[]> {
  const doms = await ctx.client.listDomains();
  const rows = await readEachVm(doms, (d) => readOne(ctx.client, d, parseDomainSummary));
  const autostart = startsAtLogin(ctx);
  return rows.map(({ dom, value }) => summarize(dom, value.state, value.parsed, autostart)).sort(byName);
}

// Code-unit order, as virsh prints: localeCompare would first load ICU's collator, a large cost for `roost ls`.
function byName(a: VmSummary, b: VmSummary): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export async function vmDetails(ctx: VmContext, name: string): Promise<VmDetails> {
  const {
    dom,
    state,
    parsed: p,
  } = await readVm(ctx, name, async (dom) => ({
    dom,
    ...(await readOne(ctx.client, dom, parseDomainXml)),
  }));
  const boot =
    p.boot.kind === 'kernel'
      ? `kernel ${p.boot.kernel}`
      : p.boot.kind === 'cdrom'
        ? `cdrom ${p.boot.iso}`
        : 'disk';
  return {
    ...summarize(dom, state, { ...p, managedByRoost: p.roost !== undefined }, startsAtLogin(ctx)),
    id: dom.id >= 0 ? dom.id : null,
    disks: p.disks.map((d) => ({
      path: d.path ?? null,
      format: d.format ?? null,
      device: d.device,
      target: d.target ?? null,
      readonly: d.readonly,
    })),
    boot,
    firmware: p.firmware,
    serialLog: p.serialLog ?? null,
    vncSocket: p.vnc?.socket ?? null,
    guestAgent: p.guestAgent,
    roost: p.roost
      ? {
          imageRef: p.roost.imageRef,
          sshUser: p.roost.sshUser,
          createdBy: p.roost.createdBy,
          createdAt: p.roost.createdAt,
        }
      : null,
    mounts: mountRows(p),
  };
}
