// A small ordered XML tree on top of fast-xml-parser. fast-xml-parser (preserveOrder) does the tokenising and
// the serialising; this module owns everything about *meaning*, because the library alone gets some of it wrong
// for our purposes:
//  - it does not decode numeric character references (&#10;) and passes unknown entities through, so entity
//    handling is turned off in the library and done here, exactly per XML 1.0 (five predefined entities and
//    character references; anything else is an error);
//  - it accepts some malformed input (`<a x="<"/>`, several root elements), which is checked here;
//  - its preserveOrder shape (`{tag: children, ':@': attrs}`) is awkward to edit, so it is converted to a typed
//    tree. Attributes live in a Map: ordered, and safe for any name.
// Whitespace-only text between elements is kept, so an edited domain keeps its layout and everything it had.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { DomainXmlError } from './errors.js';

export interface XmlElement {
  type: 'element';
  name: string;
  attrs: Map<string, string>;
  children: XmlNode[];
}
export interface XmlText {
  type: 'text';
  value: string;
}
export interface XmlCdata {
  type: 'cdata';
  value: string;
}
export interface XmlComment {
  type: 'comment';
  value: string;
}
/** A processing instruction, e.g. the `<?xml version="1.0"?>` declaration. */
export interface XmlPi {
  type: 'pi';
  name: string;
  attrs: Map<string, string>;
}
export type XmlNode = XmlElement | XmlText | XmlCdata | XmlComment | XmlPi;

/** A whole document: prolog nodes (declaration, comments, whitespace) around exactly one root element. */
export interface XmlDocument {
  nodes: XmlNode[];
  root: XmlElement;
}

// libvirt's own limit for an XML document read over RPC is 16 MiB (VIR_NET_MESSAGE_STRING_MAX is 4 MiB);
// anything far beyond is not a domain and should not cost us memory.
const MAX_XML_CHARS = 16 * 1024 * 1024;

const ATTR_PREFIX = '@_';
const TEXT = '#text';
const COMMENT = '#comment';
const CDATA = '#cdata';

const PARSER_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  attributeNamePrefix: ATTR_PREFIX,
  commentPropName: COMMENT,
  cdataPropName: CDATA,
  textNodeName: TEXT,
  // Keep whitespace and leading/trailing spaces: text such as a kernel command line is data.
  trimValues: false,
  // Entities are decoded below (see the header comment).
  processEntities: false,
  htmlEntities: false,
  allowBooleanAttributes: false,
  // By default the library renames elements such as <valueOf> or <hasOwnProperty> to "__valueOf", silently
  // changing the document. With preserveOrder every name becomes an own property of a fresh object, so they are
  // harmless here; __proto__, constructor and prototype are still refused by the library (and then by us).
  onDangerousProperty: (name: string) => name,
  // Where the root element starts and ends, to check what is around it (the library drops that text).
  captureMetaData: true,
} as const;

// Typed as the `Symbol` wrapper by the library; it is a plain symbol.
const META = XMLParser.getMetaDataSymbol() as unknown as symbol;
// What may stand outside the root element: whitespace, comments and processing instructions.
const MISC = /^(?:\s|<!--(?:(?!--)[^])*-->|<\?(?:(?!\?>)[^])*\?>)*$/;

const BUILDER_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: ATTR_PREFIX,
  commentPropName: COMMENT,
  cdataPropName: CDATA,
  textNodeName: TEXT,
  suppressEmptyNode: true,
  format: false,
  // Escaping is done by the two processors: the library's own does not escape tab/newline in attributes.
  processEntities: false,
  tagValueProcessor: (_name: string, value: unknown) => escapeText(String(value)),
  attributeValueProcessor: (_name: string, value: unknown) => escapeAttribute(String(value)),
};

// XML 1.0 `Char`: anything else (NUL, most C0 controls, lone surrogates, U+FFFE/FFFF) cannot appear at all.
const INVALID_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Throws DOMAIN_XML_BAD_SPEC when `value` has a character that no XML document can carry. */
export function assertXmlChars(value: string, what: string): void {
  if (INVALID_XML_CHAR.test(value)) {
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

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function invalid(message: string, cause?: unknown): DomainXmlError {
  return new DomainXmlError('DOMAIN_XML_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Decodes the five predefined entities and character references; any other `&` is an error. */
function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&\s]{0,16});|&/g, (match, ref: string | undefined) => {
    if (ref === undefined) throw invalid('a bare "&" in XML content (must be written &amp;)');
    let codePoint: number;
    if (ref.startsWith('#x')) {
      codePoint = /^#x[0-9A-Fa-f]{1,6}$/.test(ref) ? Number.parseInt(ref.slice(2), 16) : NaN;
    } else if (ref.startsWith('#')) {
      codePoint = /^#[0-9]{1,7}$/.test(ref) ? Number.parseInt(ref.slice(1), 10) : NaN;
    } else {
      const named = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
      if (named === undefined) throw invalid(`unknown XML entity ${match}`);
      return named;
    }
    if (!Number.isInteger(codePoint) || codePoint > 0x10ffff)
      throw invalid(`bad character reference ${match}`);
    const char = String.fromCodePoint(codePoint);
    if (INVALID_XML_CHAR.test(char)) throw invalid(`character reference ${match} is not an XML character`);
    return char;
  });
}

function decodeAttribute(raw: string): string {
  if (raw.includes('<')) throw invalid('a "<" inside an attribute value');
  // XML attribute-value normalisation: literal whitespace characters become spaces; references survive.
  return decodeEntities(raw.replace(/[\t\n\r]/g, ' '));
}

type FxpNode = Record<string, unknown>;

function tagOf(node: FxpNode): string {
  for (const key of Object.keys(node)) if (key !== ':@') return key;
  throw invalid('the XML parser returned an empty node');
}

function textIn(children: unknown): string {
  // Comments and CDATA come as [{'#text': value}].
  if (!Array.isArray(children)) return '';
  return children.map((c) => String((c as FxpNode)[TEXT] ?? '')).join('');
}

function attrsFrom(node: FxpNode): Map<string, string> {
  const attrs = new Map<string, string>();
  const raw = node[':@'];
  if (raw !== undefined && raw !== null && typeof raw === 'object') {
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      if (!key.startsWith(ATTR_PREFIX)) continue;
      if (typeof value !== 'string') throw invalid(`attribute ${key.slice(ATTR_PREFIX.length)} has no value`);
      attrs.set(key.slice(ATTR_PREFIX.length), decodeAttribute(value));
    }
  }
  return attrs;
}

function fromFxp(node: FxpNode): XmlNode {
  const tag = tagOf(node);
  const value = node[tag];
  if (tag === TEXT) return { type: 'text', value: decodeEntities(String(value)) };
  if (tag === COMMENT) return { type: 'comment', value: textIn(value) };
  if (tag === CDATA) return { type: 'cdata', value: textIn(value) };
  if (tag.startsWith('?')) return { type: 'pi', name: tag.slice(1), attrs: attrsFrom(node) };
  const children = Array.isArray(value) ? value.map((c) => fromFxp(c as FxpNode)) : [];
  return { type: 'element', name: tag, attrs: attrsFrom(node), children };
}

function toFxp(node: XmlNode): FxpNode {
  switch (node.type) {
    case 'text':
      return { [TEXT]: node.value };
    case 'comment':
      return { [COMMENT]: [{ [TEXT]: node.value }] };
    case 'cdata':
      return { [CDATA]: [{ [TEXT]: node.value }] };
    case 'pi':
      return { [`?${node.name}`]: [{ [TEXT]: '' }], ':@': attrsTo(node.attrs) };
    case 'element': {
      const out: FxpNode = { [node.name]: node.children.map(toFxp) };
      if (node.attrs.size > 0) out[':@'] = attrsTo(node.attrs);
      return out;
    }
  }
}

function attrsTo(attrs: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of attrs) out[ATTR_PREFIX + name] = value;
  return out;
}

/** Parses a complete document. Throws DomainXmlError('DOMAIN_XML_INVALID') for anything that is not well-formed. */
export function parseXml(xml: unknown): XmlDocument {
  if (typeof xml !== 'string')
    throw invalid(`expected an XML string, got ${xml === null ? 'null' : typeof xml}`);
  if (xml.length > MAX_XML_CHARS) throw invalid(`XML document too large (${xml.length} characters)`);
  if (INVALID_XML_CHAR.test(xml)) throw invalid('the XML contains a character that XML does not allow');
  // No DTDs at all: libvirt never writes one, and entity definitions are how XML bombs are built.
  if (xml.includes('<!DOCTYPE')) throw invalid('a DOCTYPE is not accepted in domain XML');
  // XML end-of-line handling, before anything else reads the text.
  const text = xml.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let validation: ReturnType<typeof XMLValidator.validate>;
  let raw: unknown;
  try {
    validation = XMLValidator.validate(text, { allowBooleanAttributes: false });
    raw = validation === true ? new XMLParser(PARSER_OPTIONS).parse(text) : undefined;
  } catch (err) {
    throw invalid(`malformed XML: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    throw invalid(`malformed XML at line ${line}${col === undefined ? '' : `, column ${col}`}: ${msg}`);
  }
  if (!Array.isArray(raw)) throw invalid('malformed XML');
  const rawRoots = (raw as FxpNode[]).filter((n) => !tagOf(n).startsWith('#') && !tagOf(n).startsWith('?'));
  if (rawRoots.length !== 1) {
    throw invalid(`an XML document needs exactly one root element, found ${rawRoots.length}`);
  }
  const where = (rawRoots[0] as Record<symbol, { startIndex?: number; endIndex?: number } | undefined>)[META];
  if (where?.startIndex === undefined || where.endIndex === undefined) throw invalid('malformed XML');
  if (!MISC.test(text.slice(0, where.startIndex)) || !MISC.test(text.slice(where.endIndex))) {
    throw invalid('text outside the root element');
  }
  const nodes = raw.map((n) => fromFxp(n as FxpNode));
  const root = nodes.find((n): n is XmlElement => n.type === 'element') as XmlElement;
  return { nodes, root };
}

/** Serialises a document (or one element). Values are escaped here; nothing is re-indented. */
export function serializeXml(doc: XmlDocument | XmlElement): string {
  const nodes = 'nodes' in doc ? doc.nodes : [doc];
  try {
    return new XMLBuilder(BUILDER_OPTIONS).build(nodes.map(toFxp));
  } catch (err) {
    if (err instanceof DomainXmlError) throw err;
    throw new DomainXmlError('DOMAIN_XML_BAD_SPEC', `cannot serialise XML: ${String(err)}`, { cause: err });
  }
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
