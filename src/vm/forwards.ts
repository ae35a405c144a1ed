// Port forwards as recorded in domain XML, for conflict checks and listings.
import { parseDomainXml } from '../domain-xml/parse.js';
import type { PortForwardSpec } from '../domain-xml/spec.js';
import type { LibvirtClient } from '../libvirt/api.js';
import type { ExistingForward } from '../net/port-check.js';
import { DEFAULT_FORWARD_ADDRESS, type PortForward } from '../net/port-spec.js';

/** domain-xml's spelling (optional end/address) → the net layer's (always explicit). */
export function toPortForward(p: PortForwardSpec): PortForward {
  // No address attribute means passt listens on every host address.
  const address =
    p.address === undefined ? DEFAULT_FORWARD_ADDRESS : p.address === '' ? '0.0.0.0' : p.address;
  return {
    proto: p.proto,
    address,
    hostStart: p.hostStart,
    hostEnd: p.hostEnd ?? p.hostStart,
    guestStart: p.guestStart,
  };
}

/** Every forward of every VM on this connection (optionally all but one), from each VM's persistent config. */
export async function existingForwards(client: LibvirtClient, except?: string): Promise<ExistingForward[]> {
  const INACTIVE_XML = 2;
  const doms = (await client.listDomains()).filter((d) => d.name !== except);
  const xmls = await Promise.all(doms.map((d) => client.getXml(d, INACTIVE_XML)));
  return xmls.flatMap((xml, i) =>
    parseDomainXml(xml).nics.flatMap((n) =>
      n.ports.map((p) => ({ vm: doms[i]!.name, forward: toPortForward(p) })),
    ),
  );
}
