// roost info's details of one VM (and the web console's): its summary row plus disks, boot, consoles and mounts,
// from the full reading of its domain XML.
import { parseDomainXml } from '../domain-xml/parse.js';
import type { VmDetails } from '../shared/api-types.js';
import type { VmContext } from './context.js';
import { readStateAndXml } from './list.js';
import { startsAtLogin, summarize } from './list-rows.js';
import { readVm } from './lookup.js';
import { mountRows } from './mount-rows.js';

export type { VmDetails } from '../shared/api-types.js';

export async function vmDetails(ctx: VmContext, name: string): Promise<VmDetails> {
  const { dom, state, xml } = await readVm(ctx, name, async (dom) => ({
    dom,
    ...(await readStateAndXml(ctx.client, dom)),
  }));
  const p = parseDomainXml(xml);
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
