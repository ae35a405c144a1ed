import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDomainXml } from './build.js';
import { parseNicsOnly } from './parse.js';
import { specCases } from './testing.js';
import { readInterfaceQuickly } from './xml-fragment.js';
import { parseXml, type XmlElement } from './xml.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const READ_CHILDREN = new Set(['source', 'backend', 'mac', 'model', 'portForward']);

/** The strict reader's tree cut down to what the quick reader builds: the children parseNic reads, no text. */
function cutDown(iface: XmlElement): XmlElement {
  const elements = (el: XmlElement, keep: (name: string) => boolean): XmlElement[] =>
    el.children.filter((c): c is XmlElement => c.type === 'element' && keep(c.name));
  return {
    ...iface,
    children: elements(iface, (n) => READ_CHILDREN.has(n)).map((c) => ({
      ...c,
      children:
        c.name === 'portForward'
          ? elements(c, (n) => n === 'range').map((r) => ({ ...r, children: [] }))
          : [],
    })),
  };
}

/** Every `<interface>` of a document, as the text parseNicsOnly cuts out. */
function interfacesOf(xml: string): string[] {
  return [...xml.matchAll(/<interface\b[^>]*\/>|<interface[\s>][\s\S]*?<\/interface>/g)].map((m) => m[0]);
}

const documents: Array<[string, string]> = [
  ['libvirt-dumped.xml', fixture('libvirt-dumped.xml')],
  ['handmade.xml', fixture('handmade.xml')],
  ...specCases().map(([what, spec]) => [what, buildDomainXml(spec)] as [string, string]),
];

describe('readInterfaceQuickly builds what the strict reader builds, for the parts parseNic reads', () => {
  const cases = documents.flatMap(([what, xml]) =>
    interfacesOf(xml).map((text, i) => [`${what}, interface ${i + 1}`, text] as [string, string]),
  );

  it('has interfaces to compare, passt port forwards among them', () => {
    expect(cases.length).toBeGreaterThan(10);
    expect(cases.some(([, text]) => text.includes('<range'))).toBe(true);
  });

  it.each(cases)('%s', (_what, text) => {
    expect(readInterfaceQuickly(text)).toEqual(cutDown(parseXml(text).root));
  });

  it('reads ranges, self-closing interfaces and forwards, and either quote', () => {
    const text = `<interface type="user">
      <mac address='52:54:00:AA:BB:CC'/>
      <source dev='eth0'/>
      <backend type='passt' logFile='/tmp/p.log'/>
      <portForward proto='udp'/>
      <portForward proto='tcp' address="127.0.0.1">
        <range start='2222' to='22'/>
        <range start='8000' end='8010' exclude='yes'/>
      </portForward>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </interface>`;
    expect(readInterfaceQuickly(text)).toEqual(cutDown(parseXml(text).root));
    expect(readInterfaceQuickly("<interface type='network'/>")).toEqual(
      cutDown(parseXml("<interface type='network'/>").root),
    );
  });

  it('normalises a literal tab or newline in a value to a space, as the strict reader does', () => {
    const text = "<interface type='bridge'><source bridge='a\tb\nc'/></interface>";
    const source = readInterfaceQuickly(text)?.children[0] as XmlElement | undefined;
    expect(source?.attrs.get('bridge')).toBe('a b c');
    expect(readInterfaceQuickly(text)).toEqual(cutDown(parseXml(text).root));
  });
});

describe('readInterfaceQuickly leaves to the strict reader what needs more than libvirt formatting', () => {
  it.each([
    ['an entity', "<interface type='bridge'><source bridge='a&amp;b'/></interface>"],
    ['a character reference', "<interface type='bridge'><source bridge='br&#48;'/></interface>"],
    ['a comment', "<interface type='user'><!-- <source bridge='x'/> --></interface>"],
    ['CDATA', "<interface type='user'><model type='virtio'/><![CDATA[<mac address='x'/>]]></interface>"],
    ['a processing instruction', "<interface type='user'><?x y?></interface>"],
    ['a carriage return', "<interface type='user'>\r\n<model type='virtio'/></interface>"],
    ['a repeated attribute', "<interface type='user' type='bridge'/>"],
    ['a repeated attribute on a child', "<interface type='user'><mac address='a' address='b'/></interface>"],
    ['a control character', "<interface type='user'><model type='vir\u0001tio'/></interface>"],
    ['not an interface', "<interfaces type='user'/>"],
    ['a portForward that is never closed', "<interface type='user'><portForward proto='tcp'></interface>"],
  ])('%s', (_what, text) => {
    expect(readInterfaceQuickly(text)).toBeUndefined();
  });

  it('gives up at once on many unclosed portForwards (a lazy expression would scan to the end from each)', () => {
    const text = `<interface type='user'>${"<portForward proto='tcp'>".repeat(100_000)}</interface>`;
    expect(readInterfaceQuickly(text)).toBeUndefined();
  });

  it('so parseNicsOnly still decodes references and still refuses what is malformed', () => {
    const doc = (nic: string) => `<domain type='qemu'><name>n</name><devices>${nic}</devices></domain>`;
    expect(
      parseNicsOnly(doc("<interface type='bridge'><source bridge='br&#48;'/></interface>"))[0]?.bridge,
    ).toBe('br0');
    expect(() => parseNicsOnly(doc("<interface type='user' type='bridge'/>"))).toThrow(/twice/);
    expect(() => parseNicsOnly(doc("<interface type='user'><x>&bogus;</x></interface>"))).toThrow(/entity/);
  });
});
