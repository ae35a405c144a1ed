// A quick reader for one `<interface>` as libvirt writes it, for the readers that run over every VM in a
// short-lived process: `roost ls`, and the port checks of `create` and `port add` (parse.ts parseNicsOnly).
//
// It builds the part of the tree that parse.ts's parseNic reads — the `<interface>` element, its `<source>`,
// `<backend>`, `<mac>`, `<model>` and `<portForward>` children, and each forward's `<range>`s — with a few
// native regular expressions instead of the strict reader's walk over every tag and attribute. In a cold
// process, where every JavaScript step is slow, that walk was most of the time `roost ls` spent per VM
// (BENCHMARKS.md).
//
// It relies on libvirt's own formatting, which is what the daemon hands back whatever document it was given:
// attribute values quoted, `<`, `>`, `&` and quotes escaped, and those elements appearing only where libvirt's
// schema puts them (no `<source>` inside another child of an interface). Anything that needs more than that —
// an entity or character reference, a comment, CDATA, a processing instruction, a carriage return — gives
// undefined, and the caller reads the text with the strict reader (xml.ts parseXml), which decodes it or says
// what is wrong with it. xml-fragment.test.ts checks that both readers give parseNic the same NIC.
import { hasInvalidXmlChar } from './xml-reader.js';
import type { XmlElement } from './xml-types.js';

const ATTRS = `((?:[ \\t\\n]+[A-Za-z_][\\w.:-]*[ \\t\\n]*=[ \\t\\n]*(?:'[^'<]*'|"[^"<]*"))*)[ \\t\\n]*`;
// What only the strict reader may read.
const NOT_PLAIN = /[&\r]|<[!?]/;
const INTERFACE_OPEN = new RegExp(`^<interface${ATTRS}(/?)>`);
// The children parseNic reads; a self-closing <portForward/> has no ranges. The body of any other portForward is
// found with indexOf (readInterfaceQuickly), not a lazy `[\s\S]*?</portForward>`: over many unclosed portForwards
// that would scan to the end from each of them.
const CHILD = new RegExp(`<(source|backend|mac|model)\\b${ATTRS}/?>|<portForward\\b${ATTRS}(/?)>`, 'g');
const PORT_FORWARD_END = '</portForward>';
const RANGE = new RegExp(`<range\\b${ATTRS}/?>`, 'g');
const ATTRIBUTE = /([A-Za-z_][\w.:-]*)[ \t\n]*=[ \t\n]*(?:'([^']*)'|"([^"]*)")/g;

/**
 * The `<interface>` element `text` is, with the children parseNic reads; undefined when the text is not plain
 * libvirt output (read it with the strict reader then).
 */
export function readInterfaceQuickly(text: string): XmlElement | undefined {
  if (NOT_PLAIN.test(text) || hasInvalidXmlChar(text)) return undefined;
  const open = INTERFACE_OPEN.exec(text);
  const iface = open === null ? undefined : element('interface', open[1]!);
  if (open === null || iface === undefined) return undefined;
  if (open[2] === '/') return iface;
  CHILD.lastIndex = open[0].length;
  for (let m = CHILD.exec(text); m !== null; m = CHILD.exec(text)) {
    let child: XmlElement | undefined;
    if (m[1] !== undefined) child = element(m[1], m[2]!);
    else if (m[4] === '/') child = portForward(m[3]!, undefined);
    else {
      const close = text.indexOf(PORT_FORWARD_END, CHILD.lastIndex);
      if (close < 0) return undefined;
      child = portForward(m[3]!, text.slice(CHILD.lastIndex, close));
      CHILD.lastIndex = close + PORT_FORWARD_END.length;
    }
    if (child === undefined) return undefined;
    iface.children.push(child);
  }
  return iface;
}

function portForward(attrText: string, body: string | undefined): XmlElement | undefined {
  const pf = element('portForward', attrText);
  if (pf === undefined || body === undefined) return pf;
  RANGE.lastIndex = 0;
  for (let r = RANGE.exec(body); r !== null; r = RANGE.exec(body)) {
    const range = element('range', r[1]!);
    if (range === undefined) return undefined;
    pf.children.push(range);
  }
  return pf;
}

/** An element with the attributes of its tag's attribute text; undefined when a name repeats (the strict reader refuses that). */
function element(name: string, attrText: string): XmlElement | undefined {
  const attrs = new Map<string, string>();
  ATTRIBUTE.lastIndex = 0;
  for (let a = ATTRIBUTE.exec(attrText); a !== null; a = ATTRIBUTE.exec(attrText)) {
    const attr = a[1]!;
    if (attrs.has(attr)) return undefined;
    // Attribute-value normalisation, as the strict reader does it: a literal tab or newline reads as a space.
    const value = a[2] ?? a[3]!;
    attrs.set(attr, /[\t\n]/.test(value) ? value.replace(/[\t\n]/g, ' ') : value);
  }
  return { type: 'element', name, attrs, children: [] };
}
