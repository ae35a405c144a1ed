// Port forwards as recorded in domain XML, for conflict checks and listings.
import { parseNicsOnly } from '../domain-xml/parse.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { DomainXmlFlags } from '../libvirt/types.js';
import type { ExistingForward } from '../net/port-check.js';
import { fromPortForwardSpec as toPortForward } from '../net/ports.js';
import { readEachVm } from './lookup.js';

/** domain-xml's spelling (optional end/address) → the net layer's (always explicit): one conversion, in net/. */
export { fromPortForwardSpec as toPortForward } from '../net/ports.js';

/** Every forward of every VM on this connection (optionally all but one), from each VM's persistent config. */
export async function existingForwards(client: LibvirtClient, except?: string): Promise<ExistingForward[]> {
  const doms = (await client.listDomains()).filter((d) => d.name !== except);
  const rows = await readEachVm(doms, (d) => client.getXml(d, DomainXmlFlags.INACTIVE));
  return rows.flatMap(({ dom, value: xml }) =>
    parseNicsOnly(xml).flatMap((n) => n.ports.map((p) => ({ vm: dom.name, forward: toPortForward(p) }))),
  );
}
