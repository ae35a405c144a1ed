// The ordered XML tree of domain-xml: parse (xml-reader.ts does the reading), serialise, and the helpers that
// edit a tree while keeping its layout. Whitespace-only text between elements is kept, so an edited domain keeps
// its layout and everything it had.
import { DomainXmlError } from './errors.js';
import { hasInvalidXmlChar, invalid, readXml } from './xml-reader.js';
import type { XmlDocument, XmlElement, XmlNode, XmlText } from './xml-types.js';

export type { XmlCdata, XmlComment, XmlDocument, XmlElement, XmlNode, XmlPi, XmlText } from './xml-types.js';

// libvirt's own limit for an XML document read over RPC is 16 MiB (VIR_NET_MESSAGE_STRING_MAX is 4 MiB);
// anything far beyond is not a domain and should not cost us memory.
const MAX_XML_CHARS = 16 * 1024 * 1024;

/** Throws DOMAIN_XML_BAD_SPEC when `value` has a character that no XML document can carry. */
export function assertXmlChars(value: string, what: string): void {
  if (hasInvalidXmlChar(value)) {
    throw new DomainXmlError(
      'DOMAIN_XML_BAD_SPEC',
      `${what} contains a character that XML cannot carry (a control character or lone surrogate)`,
    );
  }
}

export function escapeText(value: string): string {
  assertXmlChars(value, 'text');
  // '>' too, so that ']]>' can never appear in content.
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttribute(value: string): string {
  assertXmlChars(value, 'attribute value');
  // Tab, newline and CR as character references: written literally, a parser would turn them into spaces.
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** Parses a complete document. Throws DomainXmlError('DOMAIN_XML_INVALID') for anything that is not well-formed. */
export function parseXml(xml: unknown): XmlDocument {
  if (typeof xml !== 'string')
    throw invalid(`expected an XML string, got ${xml === null ? 'null' : typeof xml}`);
  if (xml.length > MAX_XML_CHARS) throw invalid(`XML document too large (${xml.length} characters)`);
  if (hasInvalidXmlChar(xml)) throw invalid('the XML contains a character that XML does not allow');
  // XML end-of-line handling, before anything else reads the text.
  const text = xml.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const nodes = readXml(text);
  const root = nodes.find((n): n is XmlElement => n.type === 'element')!;
  return { nodes, root };
}

function attributesOf(attrs: Map<string, string>): string {
  let out = '';
  for (const [name, value] of attrs) out += ` ${name}="${escapeAttribute(value)}"`;
  return out;
}

function write(node: XmlNode): string {
  switch (node.type) {
    case 'text':
      return escapeText(node.value);
    case 'comment':
      return `<!--${node.value}-->`;
    case 'cdata':
      return `<![CDATA[${node.value}]]>`;
    case 'pi':
      return `<?${node.name}${attributesOf(node.attrs)}?>`;
    case 'element': {
      const open = `<${node.name}${attributesOf(node.attrs)}`;
      if (node.children.length === 0) return `${open}/>`;
      let inner = '';
      for (const child of node.children) inner += write(child);
      return `${open}>${inner}</${node.name}>`;
    }
  }
}

/** Serialises a document (or one element). Values are escaped here; nothing is re-indented. */
export function serializeXml(doc: XmlDocument | XmlElement): string {
  const nodes = 'nodes' in doc ? doc.nodes : [doc];
  return nodes.map(write).join('');
}

// ---- tree helpers -------------------------------------------------------------------------------------------

export function element(
  name: string,
  attrs: Record<string, string | number | undefined> = {},
  children: Array<XmlNode | string | undefined | false> = [],
): XmlElement {
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined) map.set(key, String(value));
  const kids: XmlNode[] = [];
  for (const child of children) {
    if (child === undefined || child === false) continue;
    kids.push(typeof child === 'string' ? { type: 'text', value: child } : child);
  }
  return { type: 'element', name, attrs: map, children: kids };
}

export function childElements(parent: XmlElement, name?: string): XmlElement[] {
  return parent.children.filter(
    (c): c is XmlElement => c.type === 'element' && (name === undefined || c.name === name),
  );
}

export function firstChild(parent: XmlElement | undefined, name: string): XmlElement | undefined {
  if (parent === undefined) return undefined;
  for (const c of parent.children) if (c.type === 'element' && c.name === name) return c;
  return undefined;
}

/** The element's text content (text and CDATA children, concatenated). */
export function textContent(el: XmlElement | undefined): string | undefined {
  if (el === undefined) return undefined;
  let out = '';
  for (const c of el.children) if (c.type === 'text' || c.type === 'cdata') out += c.value;
  return out;
}

export function setText(el: XmlElement, value: string): void {
  el.children = el.children.filter((c) => c.type === 'element' || c.type === 'comment' || c.type === 'pi');
  el.children.unshift({ type: 'text', value });
}

function isWhitespace(node: XmlNode | undefined): node is XmlText {
  return node !== undefined && node.type === 'text' && node.value.trim() === '';
}

/** Adds whitespace text so that `el` and its descendants print one element per line, like libvirt does. */
export function indent(el: XmlElement, depth: number, step = '  '): XmlElement {
  const kids = el.children.filter((c) => c.type !== 'text' || c.value.trim() !== '');
  const structured = kids.length > 0 && kids.every((c) => c.type === 'element' || c.type === 'comment');
  if (!structured) return el;
  const inner = '\n' + step.repeat(depth + 1);
  el.children = [];
  for (const kid of kids) {
    el.children.push({ type: 'text', value: inner });
    el.children.push(kid.type === 'element' ? indent(kid, depth + 1, step) : kid);
  }
  el.children.push({ type: 'text', value: '\n' + step.repeat(depth) });
  return el;
}

/** The indentation of `parent`'s child elements (from the first one on its own line), or undefined if none is. */
function childIndent(parent: XmlElement): string | undefined {
  for (let i = 0; i < parent.children.length - 1; i++) {
    const node = parent.children[i];
    if (isWhitespace(node) && node.value.includes('\n') && parent.children[i + 1]?.type === 'element') {
      return node.value.slice(node.value.lastIndexOf('\n') + 1);
    }
  }
  return undefined;
}

/**
 * Inserts `child` into `parent` before its `index`-th element child (default: after the last one), indented like
 * its new siblings when the parent is laid out on lines. `depth` is the parent's depth (root = 0).
 */
export function insertChild(parent: XmlElement, child: XmlElement, depth: number, index?: number): void {
  const elements = childElements(parent);
  const empty = parent.children.every((c) => isWhitespace(c));
  const existing = childIndent(parent);
  // An empty parent gets libvirt's layout; a parent written on one line stays on one line.
  const laidOut = existing !== undefined || empty;
  const pad = existing ?? '  '.repeat(depth + 1);
  // One indentation step, inferred from the siblings (libvirt writes two spaces).
  const step =
    pad.length > 0 && pad.length % (depth + 1) === 0 ? pad.slice(0, pad.length / (depth + 1)) : '  ';
  if (laidOut) indent(child, depth + 1, step);
  if (empty) {
    parent.children = [
      { type: 'text', value: '\n' + pad },
      child,
      { type: 'text', value: '\n' + step.repeat(depth) },
    ];
    return;
  }
  let at: number;
  const before = index === undefined ? undefined : elements[index];
  if (before === undefined) {
    const last = elements[elements.length - 1];
    at = last === undefined ? parent.children.length : parent.children.indexOf(last) + 1;
  } else {
    at = parent.children.indexOf(before);
    // The whitespace in front of `before` stays in front of it; ours goes in front of that.
    if (isWhitespace(parent.children[at - 1])) at -= 1;
  }
  if (laidOut) parent.children.splice(at, 0, { type: 'text', value: '\n' + pad }, child);
  else parent.children.splice(at, 0, child);
}

/** Removes `child` and the indentation in front of it. */
export function removeChild(parent: XmlElement, child: XmlElement): void {
  const at = parent.children.indexOf(child);
  if (at < 0) return;
  const before = parent.children[at - 1];
  if (isWhitespace(before)) parent.children.splice(at - 1, 2);
  else parent.children.splice(at, 1);
}

/** Returns `parent`'s child `name`, creating it (at `index` among the element children) when missing. */
export function ensureChild(parent: XmlElement, name: string, depth: number, index?: number): XmlElement {
  const found = firstChild(parent, name);
  if (found !== undefined) return found;
  const created = element(name);
  insertChild(parent, created, depth, index);
  return created;
}
