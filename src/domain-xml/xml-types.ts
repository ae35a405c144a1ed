// The ordered XML tree that domain-xml reads, edits and writes. Leaf module: types only.
// Attributes live in a Map: ordered, and safe for any name (`__proto__` is just a name here).

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
/** A processing instruction, e.g. the `<?xml version="1.0"?>` declaration; its content as pseudo-attributes. */
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
