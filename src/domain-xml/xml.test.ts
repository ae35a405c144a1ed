import { describe, expect, it } from 'vitest';
import { DomainXmlError } from './errors.js';
import {
  element,
  escapeAttribute,
  escapeText,
  firstChild,
  indent,
  insertChild,
  parseXml,
  removeChild,
  serializeXml,
  textContent,
} from './xml.js';

function expectInvalid(fn: () => unknown): DomainXmlError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainXmlError);
    expect((err as DomainXmlError).code).toBe('DOMAIN_XML_INVALID');
    return err as DomainXmlError;
  }
  throw new Error('expected a DomainXmlError');
}

describe('parseXml', () => {
  it('decodes the five entities and character references in text and attributes', () => {
    const { root } = parseXml(
      `<a x="&quot;&apos;&lt;&gt;&amp;&#10;&#x41;">&amp;&lt;&gt;&#65;&#x1F600;'"</a>`,
    );
    expect(root.attrs.get('x')).toBe(`"'<>&\nA`);
    expect(textContent(root)).toBe(`&<>A\u{1F600}'"`);
  });

  it('normalises literal whitespace in attributes and line ends everywhere, as XML 1.0 says', () => {
    const { root } = parseXml('<a x="1\t2\n3">l1\r\nl2\rl3</a>');
    expect(root.attrs.get('x')).toBe('1 2 3');
    expect(textContent(root)).toBe('l1\nl2\nl3');
  });

  it('reads names that are JavaScript object properties as plain names', () => {
    const { root } = parseXml('<a constructor="1" toString="2" hasOwnProperty="3"><valueOf/></a>');
    expect([...root.attrs]).toEqual([
      ['constructor', '1'],
      ['toString', '2'],
      ['hasOwnProperty', '3'],
    ]);
    expect(root.children[0]).toMatchObject({ type: 'element', name: 'valueOf' });
    expect(serializeXml(parseXml('<a><valueOf/><toString>x</toString></a>'))).toBe(
      '<a><valueOf/><toString>x</toString></a>',
    );
  });

  it('keeps CDATA undecoded, comments, namespaces and the declaration', () => {
    const doc = parseXml(
      `<?xml version="1.0"?>\n<!-- c1 --><d xmlns:q="urn:q"><q:x q:y="1"><![CDATA[a &amp; <b>]]></q:x></d>`,
    );
    expect(doc.nodes.map((n) => n.type)).toEqual(['pi', 'text', 'comment', 'element']);
    const x = firstChild(doc.root, 'q:x');
    expect(x?.attrs.get('q:y')).toBe('1');
    expect(textContent(x)).toBe('a &amp; <b>');
  });

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['text only', 'hello'],
    ['unclosed', '<a><b></a>'],
    ['two roots', '<a/><b/>'],
    ['text after root', '<a/>x'],
    ['unknown entity', '<a>&nbsp;</a>'],
    ['bare ampersand', '<a>fish & chips</a>'],
    ['lt in attribute', '<a x="<"/>'],
    ['NUL character', '<a>\u0000</a>'],
    ['NUL reference', '<a>&#0;</a>'],
    ['reference out of range', '<a>&#x110000;</a>'],
    ['DOCTYPE', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'],
    ['billion laughs', '<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><l>&b;</l>'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['unquoted attribute', '<a x=1/>'],
    ['attribute without value', '<a x/>'],
    ['attributes without whitespace', '<a x="1"y="2"/>'],
    ['mismatched end tag', '<a><b></c></a>'],
    ['end tag without start', '</a>'],
    ['unterminated start tag', '<a x="1"'],
    ['double hyphen in comment', '<a><!-- x -- y --></a>'],
    ['CDATA outside the root', '<![CDATA[x]]><a/>'],
    ['"]]>" in text', '<a>x]]>y</a>'],
    ['declaration not first', ' <?xml version="1.0"?><a/>'],
    ['name starting with a digit', '<1a/>'],
    ['text before root', 'x <a/>'],
    ['text between comment and root', '<!-- c --> x <a/>'],
    ['deep nesting', '<a>'.repeat(5000) + '</a>'.repeat(5000)],
    ['lone surrogate', '<a>\uD800</a>'],
    ['huge', `<a>${'x'.repeat(17 * 1024 * 1024)}</a>`],
  ])('refuses %s with a typed error', (_what, input) => {
    expectInvalid(() => parseXml(input));
  });

  it('reads __proto__ and friends as ordinary names (the tree uses Maps and arrays, not objects)', () => {
    const { root } = parseXml('<__proto__ __proto__="1"><constructor/></__proto__>');
    expect(root.name).toBe('__proto__');
    expect(root.attrs.get('__proto__')).toBe('1');
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });

  it('says where a document is malformed', () => {
    expect(expectInvalid(() => parseXml('<a>\n  <b x="1" x="2"/>\n</a>')).message).toMatch(
      /line 2, column \d+: attribute x appears twice/,
    );
  });

  it('never throws anything but DomainXmlError on any prefix of a document (split at every offset)', () => {
    const xml = `<?xml version="1.0"?><domain type='kvm' xmlns:q="urn:q"><!-- c --><name>a&amp;b</name><q:x a="&#10;"><![CDATA[z]]></q:x></domain>`;
    for (let i = 0; i <= xml.length; i++) {
      try {
        parseXml(xml.slice(0, i));
      } catch (err) {
        expect(err, `prefix of length ${i}`).toBeInstanceOf(DomainXmlError);
      }
    }
    expect(parseXml(xml).root.name).toBe('domain');
  });

  it('survives random byte strings with typed errors only', () => {
    let seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = `<>/="'&;#x!-[]?aZ: \n`;
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const len = Math.floor(random() * 40);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(random() * alphabet.length)];
      try {
        parseXml(s);
      } catch (err) {
        expect(err, JSON.stringify(s)).toBeInstanceOf(DomainXmlError);
      }
    }
  });
});

describe('serializeXml', () => {
  it('escapes what XML needs, tab and newline in attributes as references', () => {
    expect(escapeText(`a&b<c>d'"`)).toBe(`a&amp;b&lt;c&gt;d'"`);
    expect(escapeAttribute(`a&b<c>d'"\t\n\r`)).toBe('a&amp;b&lt;c&gt;d&apos;&quot;&#9;&#10;&#13;');
  });

  it('round-trips every value through parse', () => {
    const nasty = `&<>'"\t\n]]> &amp; \u{1F600}`;
    const xml = serializeXml(element('a', { x: nasty, 'q:y': nasty }, [nasty, element('b')]));
    const { root } = parseXml(xml);
    expect(root.attrs.get('x')).toBe(nasty);
    expect(root.attrs.get('q:y')).toBe(nasty);
    expect(textContent(root)).toBe(nasty);
  });

  it('refuses characters XML cannot carry', () => {
    expect(() => serializeXml(element('a', {}, ['\u0001']))).toThrow(DomainXmlError);
    expect(() => serializeXml(element('a', { x: '\uFFFF' }))).toThrow(/cannot carry/);
  });

  it('writes a parsed document back unchanged in meaning and layout', () => {
    // Only the quotes change (and whitespace between prolog nodes, which the library drops).
    const xml = `<?xml version="1.0"?>\n<!-- top --><d a="1" b='2'>\n  <x/>\n  <!-- c -->\n  <y>t</y>\n</d>`;
    expect(serializeXml(parseXml(xml))).toBe(xml.replace(`'2'`, '"2"'));
  });
});

describe('tree editing keeps the layout', () => {
  it('inserts and removes with the siblings’ indentation', () => {
    const doc = parseXml('<d>\n    <a/>\n    <c/>\n</d>');
    insertChild(doc.root, element('b', {}, [element('e')]), 0, 1);
    expect(serializeXml(doc)).toBe('<d>\n    <a/>\n    <b>\n        <e/>\n    </b>\n    <c/>\n</d>');
    removeChild(doc.root, firstChild(doc.root, 'a')!);
    insertChild(doc.root, element('z'), 0);
    expect(serializeXml(doc)).toBe('<d>\n    <b>\n        <e/>\n    </b>\n    <c/>\n    <z/>\n</d>');
  });

  it('indents a built tree like libvirt', () => {
    const tree = indent(element('a', {}, [element('b', {}, ['text']), element('c', {}, [element('d')])]), 0);
    expect(serializeXml(tree)).toBe('<a>\n  <b>text</b>\n  <c>\n    <d/>\n  </c>\n</a>');
  });
});
