// What apply compares a file with: every VM of the session, read at once over one connection (all calls
// pipelined, as `roost ls` reads), with what apply needs of each — its persistent definition (the configuration
// it will have at its next start), whether it runs, the file it was applied from, its forwards and main disk.
import { readDomain, type ParsedDomain } from '../domain-xml/parse.js';
import { parseXml } from '../domain-xml/xml.js';
import { isNotFound } from '../libvirt/errors.js';
import { DomainXmlFlags, type Domain } from '../libvirt/types.js';
import { formatPortForward } from '../net/port-spec.js';
import { appliedFrom } from './apply-mark.js';
import { autostartVms } from './autostart.js';
import type { VmContext } from './context.js';
import { toPortForward } from './forwards.js';
import { readEachVm } from './lookup.js';

export interface CurrentVm {
  name: string;
  dom: Domain;
  running: boolean;
  parsed: ParsedDomain;
  /** The file the VM was applied from (absolute), if apply made or adopted it. */
  appliedFrom: string | undefined;
  /** Its user NIC's forwards, as `roost port ls` prints them. */
  ports: string[];
  /** The main disk's size in bytes, read for the VMs a file names; undefined when it is no pool volume. */
  diskBytes: number | undefined;
  /** A roost autostart unit starts it at login. */
  autostart: boolean;
}

/** Every VM by name; the disk sizes only of `named` (the others are only candidates for --prune). */
export async function readCurrent(
  ctx: VmContext,
  named: ReadonlySet<string>,
): Promise<Map<string, CurrentVm>> {
  const doms = await ctx.client.listDomains();
  const autostart = autostartVms(ctx.env);
  const rows = await readEachVm(doms, (dom) => readOne(ctx, dom, named.has(dom.name)));
  return new Map(
    rows.map(({ dom, value }) => [
      dom.name,
      { ...value, name: dom.name, dom, autostart: autostart.has(dom.name) },
    ]),
  );
}

/** One VM, as readCurrent reads each (export reads only the one it writes). */
export async function readOneVm(ctx: VmContext, dom: Domain): Promise<CurrentVm> {
  const value = await readOne(ctx, dom, true);
  return { ...value, name: dom.name, dom, autostart: autostartVms(ctx.env).has(dom.name) };
}

async function readOne(
  ctx: VmContext,
  dom: Domain,
  withDisk: boolean,
): Promise<Omit<CurrentVm, 'name' | 'dom' | 'autostart'>> {
  const xml = await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE);
  const root = parseXml(xml).root;
  const parsed = readDomain(root);
  const diskBytes = withDisk ? await mainDiskBytes(ctx, parsed) : undefined;
  return {
    running: dom.id >= 0,
    parsed,
    appliedFrom: appliedFrom(root),
    ports: parsed.nics.flatMap((n) => n.ports.map((f) => formatPortForward(toPortForward(f)))),
    diskBytes,
  };
}

/** The capacity of the VM's first writable disk, when it is a volume of a libvirt pool (what edit --disk grows). */
export async function mainDiskBytes(ctx: VmContext, parsed: ParsedDomain): Promise<number | undefined> {
  const disk = parsed.disks.find((d) => d.device === 'disk' && !d.readonly);
  if (disk?.path === undefined) return undefined;
  try {
    const vol = await ctx.client.lookupVolumeByPath(disk.path);
    return Number((await ctx.client.getVolumeInfo(vol)).capacity);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
