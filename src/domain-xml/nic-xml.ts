// The `<interface>` element of one NIC, cut out of a domain's XML, for the device calls libvirt offers on a
// running domain (update-device, detach, attach). libvirt finds the NIC to update or detach by MAC address; an
// attach with the same MAC and the same `<address type='pci'>` puts the new NIC exactly where the old one was,
// so the guest sees the same device on the same slot (and names it the same: eth0, enp1s0…).
import { DomainXmlError } from './errors.js';
import { childElements, firstChild, parseXml, removeChild, serializeXml, type XmlElement } from './xml.js';

function findInterface(domainXml: string, mac: string): XmlElement {
  const { root } = parseXml(domainXml);
  const devices = firstChild(root, 'devices');
  const nic = (devices === undefined ? [] : childElements(devices, 'interface')).find(
    (n) => firstChild(n, 'mac')?.attrs.get('address')?.toLowerCase() === mac.toLowerCase(),
  );
  if (nic === undefined) {
    throw new DomainXmlError('DOMAIN_XML_NOT_FOUND', `the domain has no NIC with MAC address ${mac}`);
  }
  return nic;
}

/** The NIC's `<interface>` element as XML text, as the domain has it (alias and address included). */
export function interfaceXml(domainXml: string, mac: string): string {
  return serializeXml(findInterface(domainXml, mac));
}

/**
 * The NIC's element for attaching it again: the same MAC and PCI address, but without the `<alias>` the daemon
 * gave the old device (it names a new one itself; a stale user alias would be refused).
 */
export function interfaceXmlForAttach(domainXml: string, mac: string): string {
  const nic = findInterface(domainXml, mac);
  const alias = firstChild(nic, 'alias');
  if (alias !== undefined && !alias.attrs.get('name')?.startsWith('ua-')) removeChild(nic, alias);
  return serializeXml(nic);
}

/** True when the domain XML still lists a NIC with this MAC (a detach is complete once it does not). */
export function hasInterface(domainXml: string, mac: string): boolean {
  try {
    findInterface(domainXml, mac);
    return true;
  } catch (e) {
    if (e instanceof DomainXmlError && e.code === 'DOMAIN_XML_NOT_FOUND') return false;
    throw e;
  }
}
