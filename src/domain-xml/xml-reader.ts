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
  return new DocumentReader(text).read();
}

/** One pass over one document: `pos` only moves forward, and every node goes where `children` points. */
class DocumentReader {
  private pos = 0;
  private roots = 0;
  private readonly top: XmlNode[] = [];
  private readonly stack: XmlElement[] = [];
  /** Where the next node goes: the open element's children, or the top level. */
  private children: XmlNode[] = this.top;

  constructor(private readonly text: string) {}

  read(): XmlNode[] {
    while (this.pos < this.text.length) {
      const lt = this.text.indexOf('<', this.pos);
      if (lt === this.pos) this.readMarkup();
      else this.readText(lt < 0 ? this.text.length : lt);
    }
    if (this.stack.length > 0) this.fail(`<${this.stack[this.stack.length - 1]!.name}> is never closed`);
    if (this.roots === 0) this.fail('no root element');
    return this.top;
  }

  private fail(what: string, at: number = this.pos): never {
    throw invalid(`malformed XML at ${where(this.text, at)}: ${what}`);
  }

  private readText(end: number): void {
    const raw = this.text.slice(this.pos, end);
    if (this.stack.length === 0 && raw.trim() !== '') this.fail('text outside the root element');
    if (raw.includes(']]>')) this.fail('"]]>" in text');
    this.children.push({ type: 'text', value: decodeEntities(raw) });
    this.pos = end;
  }

  /** At a '<': what follows it says what comes. */
  private readMarkup(): void {
    const next = this.text.charCodeAt(this.pos + 1);
    if (next === BANG) this.readDeclaration();
    else if (next === QUESTION) this.readProcessingInstruction();
    else if (next === SLASH) this.readEndTag();
    else this.readStartTag();
  }

  /** `<!`: a comment or a CDATA section; a DOCTYPE or anything else is refused. */
  private readDeclaration(): void {
    const { text, pos } = this;
    if (text.startsWith('<!--', pos)) {
      const end = text.indexOf('--', pos + 4);
      if (end < 0) this.fail('unterminated comment');
      if (text[end + 2] !== '>') this.fail('"--" inside a comment', end);
      this.children.push({ type: 'comment', value: text.slice(pos + 4, end) });
      this.pos = end + 3;
    } else if (text.startsWith('<![CDATA[', pos)) {
      if (this.stack.length === 0) this.fail('CDATA outside the root element');
      const end = text.indexOf(']]>', pos + 9);
      if (end < 0) this.fail('unterminated CDATA section');
      this.children.push({ type: 'cdata', value: text.slice(pos + 9, end) });
      this.pos = end + 3;
    } else {
      this.fail(text.startsWith('<!DOCTYPE', pos) ? 'a DOCTYPE is not accepted' : 'unexpected "<!"');
    }
  }

  private readProcessingInstruction(): void {
    const at = this.pos;
    this.pos += 2;
    const name = this.readName();
    if (name.toLowerCase() === 'xml' && at !== 0) this.fail('the XML declaration must come first', at);
    const attrs = new Map<string, string>();
    this.readAttributes(attrs, true);
    this.children.push({ type: 'pi', name, attrs });
  }

  private readEndTag(): void {
    const at = this.pos;
    this.pos += 2;
    const name = this.readName();
    this.skipSpace();
    if (this.text[this.pos] !== '>') this.fail(`expected ">" to end </${name}`);
    this.pos++;
    const open = this.stack.pop();
    if (open === undefined) this.fail(`</${name}> closes nothing`, at);
    if (open.name !== name) this.fail(`</${name}> where </${open.name}> was expected`, at);
    this.children = this.stack.length > 0 ? this.stack[this.stack.length - 1]!.children : this.top;
  }

  private readStartTag(): void {
    const at = this.pos;
    this.pos += 1;
    const el: XmlElement = { type: 'element', name: this.readName(), attrs: new Map(), children: [] };
    if (this.stack.length === 0 && ++this.roots > 1) this.fail('a second root element', at);
    const selfClosed = this.readAttributes(el.attrs, false);
    this.children.push(el);
    if (!selfClosed) {
      if (this.stack.length >= MAX_DEPTH) this.fail(`elements nested deeper than ${MAX_DEPTH}`, at);
      this.stack.push(el);
      this.children = el.children;
    }
  }

  private readName(): string {
    NAME.lastIndex = this.pos;
    if (!NAME.test(this.text)) return this.fail('expected a name');
    const name = this.text.slice(this.pos, NAME.lastIndex);
    this.pos = NAME.lastIndex;
    return name;
  }

  private skipSpace(): number {
    SPACES.lastIndex = this.pos;
    SPACES.test(this.text);
    const skipped = SPACES.lastIndex - this.pos;
    this.pos = SPACES.lastIndex;
    return skipped;
  }

  /** Attributes and the tag's end ('>', '/>', or '?>' for a PI). Returns whether the tag closed itself. */
  private readAttributes(attrs: Map<string, string>, pi: boolean): boolean {
    for (;;) {
      ATTRIBUTE.lastIndex = this.pos;
      const m = ATTRIBUTE.exec(this.text);
      if (m === null) break;
      const name = m[1]!;
      if (attrs.has(name)) this.fail(`attribute ${name} appears twice`);
      attrs.set(name, decodeAttribute(m[2] ?? m[3]!));
      this.pos = ATTRIBUTE.lastIndex;
    }
    const end = pi ? PI_END : TAG_END;
    end.lastIndex = this.pos;
    const closed = end.exec(this.text);
    if (closed !== null) {
      this.pos = end.lastIndex;
      return pi || closed[1] === '/>';
    }
    return this.readAttributesSlowly(attrs, pi);
  }

  /** The same, one step at a time, to say exactly what is wrong. */
  private readAttributesSlowly(attrs: Map<string, string>, pi: boolean): boolean {
    const { text } = this;
    for (;;) {
      const spaced = this.skipSpace() > 0;
      const c = text[this.pos];
      const closer = pi ? (c === '?' ? '?>' : '') : c === '>' ? '>' : c === '/' ? '/>' : '';
      if (closer !== '' && text.startsWith(closer, this.pos)) {
        this.pos += closer.length;
        return closer !== '>';
      }
      if (c === undefined) return this.fail('unexpected end of document inside a tag');
      if (!spaced) return this.fail('expected whitespace, ">" or "/>"');
      const name = this.readName();
      this.skipSpace();
      if (text[this.pos] !== '=') return this.fail(`attribute ${name} has no value`);
      this.pos++;
      this.skipSpace();
      const quote = text[this.pos];
      if (quote !== '"' && quote !== "'") return this.fail(`the value of ${name} must be quoted`);
      const end = text.indexOf(quote, this.pos + 1);
      if (end < 0) return this.fail(`unterminated value of ${name}`);
      if (attrs.has(name)) return this.fail(`attribute ${name} appears twice`);
      attrs.set(name, decodeAttribute(text.slice(this.pos + 1, end)));
      this.pos = end + 1;
    }
  }
}
