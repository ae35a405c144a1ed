// Which file a VM was applied from, recorded in the VM's own definition: a `<metadata>` child of its own namespace
//   <apply:source xmlns:apply="https://roost.dev/xmlns/apply/1" file="/home/me/vms.yaml"/>
// so `roost apply --prune` removes exactly the VMs that file made and no longer lists, and never a VM made by
// `create`, by virt-manager or from another file. Kept apart from roost's own element (domain-xml/metadata.ts)
// so that setting it replaces nothing else.
import {
  childElements,
  element,
  firstChild,
  parseXml,
  removeChild,
  serializeXml,
  type XmlElement,
} from '../domain-xml/xml.js';
import { DomainDeviceModifyFlags, DomainMetadataType, type Domain } from '../libvirt/types.js';
import type { VmContext } from './context.js';

export const APPLY_XMLNS = 'https://roost.dev/xmlns/apply/1';
const PREFIX = 'apply';

/** The `<apply:source>` element in a domain's `<metadata>`, whatever prefix the XML gives its namespace. */
function applyMarkOf(root: XmlElement): { metadata: XmlElement; mark: XmlElement } | undefined {
  const metadata = firstChild(root, 'metadata');
  if (metadata === undefined) return undefined;
  for (const el of childElements(metadata)) {
    const colon = el.name.indexOf(':');
    const prefix = colon < 0 ? '' : el.name.slice(0, colon);
    const ns = el.attrs.get(prefix === '' ? 'xmlns' : `xmlns:${prefix}`);
    if (ns === APPLY_XMLNS && el.name.slice(el.name.lastIndexOf(':') + 1) === 'source')
      return { metadata, mark: el };
  }
  return undefined;
}

/**
 * Whether `file` can be recorded: a file's absolute path. A pasted file (the web console's) has none, so a VM made
 * from one is recorded as from no file, as one made by `roost create` — no `apply --prune` ever removes it.
 */
export function recordable(file: string): boolean {
  return file.startsWith('/');
}

/** The file recorded in a domain's XML (its root element), or undefined when apply did not make it. */
export function appliedFrom(root: XmlElement): string | undefined {
  const file = applyMarkOf(root)?.mark.attrs.get('file');
  return file !== undefined && recordable(file) ? file : undefined;
}

/**
 * The domain XML without its apply mark: a VM made from another (`roost clone`) was not applied from the file,
 * and must never be removed by that file's `apply --prune`.
 */
export function withoutApplyMark(xml: string): string {
  const doc = parseXml(xml);
  const found = applyMarkOf(doc.root);
  if (!found) return xml;
  removeChild(found.metadata, found.mark);
  return serializeXml(doc);
}

/** The element's XML (without the namespace declaration: libvirt adds it from `uri`). */
export function markXml(file: string): string {
  return serializeXml(element('source', { file }, []));
}

/** Records `file` in the VM's persistent definition (and the live one, when it runs). */
export async function markApplied(
  ctx: VmContext,
  dom: Domain,
  file: string,
  running: boolean,
): Promise<void> {
  const flags = DomainDeviceModifyFlags.CONFIG | (running ? DomainDeviceModifyFlags.LIVE : 0);
  await ctx.client.setMetadata(dom, {
    type: DomainMetadataType.ELEMENT,
    metadata: markXml(file),
    key: PREFIX,
    uri: APPLY_XMLNS,
    flags,
  });
}
