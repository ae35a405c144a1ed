// Reading libvirt's domain capabilities (virConnectGetDomainCapabilities): the few facts doctor needs.
import { childElements, firstChild, parseXml, textContent, type XmlElement } from '../../domain-xml/xml.js';

export interface DomainCaps {
  /** `<domain>`: 'kvm' or 'qemu'. */
  domainType?: string;
  arch?: string;
  /**
   * `<devices><interface><enum name='backendType'>` values ('default', 'passt'), or null when the enum is
   * absent — libvirt older than the enum says nothing either way, and doctor must probe.
   */
  interfaceBackends: string[] | null;
  /** `<os><loader><value>`: the UEFI firmware files libvirt found. */
  loaders: string[];
}

export function parseDomainCaps(xml: string): DomainCaps {
  const root = parseXml(xml).root;
  const caps = root.name === 'domainCapabilities' ? root : undefined;
  const iface = firstChild(firstChild(caps, 'devices'), 'interface');
  const backendEnum = iface
    ? childElements(iface, 'enum').find((e) => e.attrs.get('name') === 'backendType')
    : undefined;
  return {
    domainType: trimmed(firstChild(caps, 'domain')),
    arch: trimmed(firstChild(caps, 'arch')),
    interfaceBackends: backendEnum ? values(backendEnum) : null,
    loaders: values(firstChild(firstChild(caps, 'os'), 'loader')),
  };
}

function trimmed(el: XmlElement | undefined): string | undefined {
  return textContent(el)?.trim();
}

function values(el: XmlElement | undefined): string[] {
  if (el === undefined) return [];
  return childElements(el, 'value')
    .map(trimmed)
    .filter((s): s is string => !!s);
}
