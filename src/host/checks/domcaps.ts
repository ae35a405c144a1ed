// Reading libvirt's domain capabilities (virConnectGetDomainCapabilities): the few facts doctor needs.
import { XMLParser } from 'fast-xml-parser';

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

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'enum' || name === 'value',
});

export function parseDomainCaps(xml: string): DomainCaps {
  const doc = parser.parse(xml) as Node;
  const root = (doc.domainCapabilities ?? {}) as Node;
  const iface = child(child(root, 'devices'), 'interface');
  const backendEnum = enums(iface).find((e) => e['@name'] === 'backendType');
  return {
    domainType: text(root.domain),
    arch: text(root.arch),
    interfaceBackends: backendEnum ? values(backendEnum) : null,
    loaders: values(child(child(root, 'os'), 'loader')),
  };
}

function child(n: Node | undefined, name: string): Node | undefined {
  const c = n?.[name];
  return c && typeof c === 'object' ? (c as Node) : undefined;
}

function enums(n: Node | undefined): Node[] {
  return Array.isArray(n?.enum) ? (n.enum as Node[]) : [];
}

function values(n: Node | undefined): string[] {
  const v = n?.value;
  return Array.isArray(v) ? v.map(text).filter((s): s is string => !!s) : [];
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim();
  if (v && typeof v === 'object' && typeof (v as Node)['#text'] === 'string')
    return ((v as Node)['#text'] as string).trim();
  return undefined;
}
