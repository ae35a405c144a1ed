// A strict, single-pass XML 1.0 reader for the documents libvirt exchanges (domain XML, capabilities).
//
// Why our own and not a library: `roost ls` parses every domain's XML in a short-lived process, and the
// general-purpose parser we started with needed a separate validation pass plus a conversion into this tree,
// which took most of `ls`'s time with 50 VMs (BENCHMARKS.md has the start-up target for `roost ls`).
// This reader builds the tree directly, checks well-formedness as it goes, and costs a fraction of that.
//
// What it accepts: elements, attributes, text, CDATA, comments, processing instructions, the five predefined
// entities and character references. What it refuses with DOMAIN_XML_INVALID: anything not well-formed, any
// DOCTYPE (entity definitions are how XML bombs are built; libvirt never writes one), unknown entities, text
// outside the root element, nesting deeper than MAX_DEPTH. Namespaces are not interpreted: `q:x` is a name.
//
// The caller (xml.ts parseXml) has already normalised line ends and refused characters XML does not allow.
import { DomainXmlError } from './errors.js';
import type { XmlElement, XmlNode } from './xml-types.js';

/** Far beyond any libvirt document (domain XML nests < 10 deep); bounds the reader's stack. */
export const MAX_DEPTH = 256;

// XML 1.0 (fifth edition) Name, NameStartChar and NameChar.
const START_CHARS =
  ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D' +
  '\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_PATTERN = `[${START_CHARS}][${START_CHARS}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]*`;
// The names hold a range of combining marks (U+0300–036F, allowed after the first character), not a combined
// character, which is what the lint rule fears.
/* eslint-disable no-misleading-character-class */
const NAME = new RegExp(NAME_PATTERN, 'uy');
// The common case of a whole attribute in one native match (the step-by-step path runs only to say what is wrong):
// the reader runs in a cold, short-lived process, where each JavaScript step costs more than a regex does.
const ATTRIBUTE = new RegExp(
  `[ \\t\\n\\r]+(${NAME_PATTERN})[ \\t\\n\\r]*=[ \\t\\n\\r]*(?:"([^"]*)"|'([^']*)')`,
  'uy',
);
/* eslint-enable no-misleading-character-class */
const TAG_END = /[ \t\n\r]*(\/?>)/y;
const PI_END = /[ \t\n\r]*\?>/y;
const SPACES = /[ \t\n\r]*/y;
// XML 1.0 `Char` excludes C0 controls other than tab/LF/CR, U+FFFE/FFFF and lone surrogates. Tested in two
// steps because a negated class with the `u` flag is slow, and `roost ls` runs this on every domain.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CODE_UNIT = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;

/** Whether `value` has a character that no XML document can carry. */
export function hasInvalidXmlChar(value: string): boolean {
  return FORBIDDEN_CODE_UNIT.test(value) || !(value as unknown as WellFormedString).isWellFormed();
}
// String.prototype.isWellFormed (ES2024, Node 20) is not in the ES2023 lib we compile against.
interface WellFormedString {
  isWellFormed(): boolean;
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function invalid(message: string, cause?: unknown): DomainXmlError {
  return new DomainXmlError('DOMAIN_XML_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Decodes the five predefined entities and character references; any other `&` is an error. */
export function decodeEntities(raw: string): string {
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
    if (hasInvalidXmlChar(char)) throw invalid(`character reference ${match} is not an XML character`);
    return char;
  });
}

function decodeAttribute(raw: string): string {
  if (!NEEDS_DECODING.test(raw)) return raw;
  if (raw.includes('<')) throw invalid('a "<" inside an attribute value');
  // Attribute-value normalisation: literal whitespace characters become spaces; references survive.
  return decodeEntities(raw.replace(/[\t\n\r]/g, ' '));
}

const BANG = 0x21;
const SLASH = 0x2f;
const QUESTION = 0x3f;
const NEEDS_DECODING = /[\t\n\r<&]/;

/** Line and column of an offset, for messages. */
function where(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}

/** Reads a document into its top-level nodes. Exactly one of them is an element (the root). */
export function readXml(text: string): XmlNode[] {
  const top: XmlNode[] = [];
  const stack: XmlElement[] = [];
  let roots = 0;
  let pos = 0;
  const fail: (what: string, at?: number) => never = (what, at = pos) => {
    throw invalid(`malformed XML at ${where(text, at)}: ${what}`);
  };
  /** Where the next node goes: the open element's children, or the top level. */
  let children = top;
  const readName = (): string => {
    NAME.lastIndex = pos;
    if (!NAME.test(text)) return fail('expected a name');
    const name = text.slice(pos, NAME.lastIndex);
    pos = NAME.lastIndex;
    return name;
  };
  const skipSpace = (): number => {
    SPACES.lastIndex = pos;
    SPACES.test(text);
    const skipped = SPACES.lastIndex - pos;
    pos = SPACES.lastIndex;
    return skipped;
  };
  /** Attributes and the tag's end ('>', '/>', or '?>' for a PI). Returns whether the tag closed itself. */
  const readAttributes = (attrs: Map<string, string>, pi: boolean): boolean => {
    for (;;) {
      ATTRIBUTE.lastIndex = pos;
      const m = ATTRIBUTE.exec(text);
      if (m === null) break;
      const name = m[1]!;
      if (attrs.has(name)) fail(`attribute ${name} appears twice`);
      attrs.set(name, decodeAttribute(m[2] ?? m[3]!));
      pos = ATTRIBUTE.lastIndex;
    }
    const end = pi ? PI_END : TAG_END;
    end.lastIndex = pos;
    const closed = end.exec(text);
    if (closed !== null) {
      pos = end.lastIndex;
      return pi || closed[1] === '/>';
    }
    return readAttributesSlowly(attrs, pi);
  };
  /** The same, one step at a time, to say exactly what is wrong. */
  const readAttributesSlowly = (attrs: Map<string, string>, pi: boolean): boolean => {
    for (;;) {
      const spaced = skipSpace() > 0;
      const c = text[pos];
      const closer = pi ? (c === '?' ? '?>' : '') : c === '>' ? '>' : c === '/' ? '/>' : '';
      if (closer !== '' && text.startsWith(closer, pos)) {
        pos += closer.length;
        return closer !== '>';
      }
      if (c === undefined) return fail('unexpected end of document inside a tag');
      if (!spaced) return fail('expected whitespace, ">" or "/>"');
      const name = readName();
      skipSpace();
      if (text[pos] !== '=') return fail(`attribute ${name} has no value`);
      pos++;
      skipSpace();
      const quote = text[pos];
      if (quote !== '"' && quote !== "'") return fail(`the value of ${name} must be quoted`);
      const end = text.indexOf(quote, pos + 1);
      if (end < 0) return fail(`unterminated value of ${name}`);
      if (attrs.has(name)) return fail(`attribute ${name} appears twice`);
      attrs.set(name, decodeAttribute(text.slice(pos + 1, end)));
      pos = end + 1;
    }
  };

  while (pos < text.length) {
    const lt = text.indexOf('<', pos);
    const textEnd = lt < 0 ? text.length : lt;
    if (textEnd > pos) {
      const raw = text.slice(pos, textEnd);
      if (stack.length === 0 && raw.trim() !== '') fail('text outside the root element');
      if (raw.includes(']]>')) fail('"]]>" in text');
      children.push({ type: 'text', value: decodeEntities(raw) });
      pos = textEnd;
      continue;
    }
    // At a '<': what follows it says what comes.
    const next = text.charCodeAt(pos + 1);
    if (next === BANG && text.startsWith('<!--', pos)) {
      const end = text.indexOf('--', pos + 4);
      if (end < 0) fail('unterminated comment');
      if (text[end + 2] !== '>') fail('"--" inside a comment', end);
      children.push({ type: 'comment', value: text.slice(pos + 4, end) });
      pos = end + 3;
    } else if (next === BANG && text.startsWith('<![CDATA[', pos)) {
      if (stack.length === 0) fail('CDATA outside the root element');
      const end = text.indexOf(']]>', pos + 9);
      if (end < 0) fail('unterminated CDATA section');
      children.push({ type: 'cdata', value: text.slice(pos + 9, end) });
      pos = end + 3;
    } else if (next === BANG) {
      fail(text.startsWith('<!DOCTYPE', pos) ? 'a DOCTYPE is not accepted' : 'unexpected "<!"');
    } else if (next === QUESTION) {
      const at = pos;
      pos += 2;
      const name = readName();
      if (name.toLowerCase() === 'xml' && at !== 0) fail('the XML declaration must come first', at);
      const attrs = new Map<string, string>();
      readAttributes(attrs, true);
      children.push({ type: 'pi', name, attrs });
    } else if (next === SLASH) {
      const at = pos;
      pos += 2;
      const name = readName();
      skipSpace();
      if (text[pos] !== '>') fail(`expected ">" to end </${name}`);
      pos++;
      const open = stack.pop();
      if (open === undefined) fail(`</${name}> closes nothing`, at);
      if (open.name !== name) fail(`</${name}> where </${open.name}> was expected`, at);
      children = stack.length > 0 ? stack[stack.length - 1]!.children : top;
    } else {
      const at = pos;
      pos += 1;
      const el: XmlElement = { type: 'element', name: readName(), attrs: new Map(), children: [] };
      if (stack.length === 0 && ++roots > 1) fail('a second root element', at);
      const selfClosed = readAttributes(el.attrs, false);
      children.push(el);
      if (!selfClosed) {
        if (stack.length >= MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`, at);
        stack.push(el);
        children = el.children;
      }
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (roots === 0) fail('no root element');
  return top;
}
