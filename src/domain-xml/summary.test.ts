import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDomainXml } from './build.js';
import { parseDomainXml } from './parse.js';
import { ROOST_XMLNS } from './spec.js';
import { parseDomainSummary, type DomainSummary } from './summary.js';
import { specCases } from './testing.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** What the full reader says about the same fields. */
function fromFullParse(xml: string): DomainSummary {
  const p = parseDomainXml(xml);
  return {
    domainType: p.domainType,
    accel: p.accel,
    cpus: p.cpus,
    memoryMiB: p.memoryMiB,
    nics: p.nics,
    managedByRoost: p.roost !== undefined,
  };
}

/** A domain as libvirt lays it out, with the elements that share the summary's names in their usual places. */
const tricky = (metadata: string, memory = "<memory unit='G'>3</memory>") => `<domain type='kvm' id='4'>
  <name>t</name>
  <metadata>
${metadata}
  </metadata>
  <maxMemory slots='16' unit='KiB'>8388608</maxMemory>
  ${memory}
  <currentMemory unit='KiB'>1048576</currentMemory>
  <memoryBacking><hugepages/></memoryBacking>
  <vcpu placement='static' current='2'>4</vcpu>
  <vcpus>
    <vcpu id='0' enabled='yes' hotpluggable='no'/>
    <vcpu id='1' enabled='yes' hotpluggable='yes'/>
  </vcpus>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='bridge'><source bridge='br0'/><mac address='52:54:00:AA:00:01'/></interface>
    <memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>
  </devices>
</domain>
`;

describe('parseDomainSummary gives what parseDomainXml gives', () => {
  it.each([
    ['libvirt-dumped.xml', fixture('libvirt-dumped.xml')],
    ['handmade.xml', fixture('handmade.xml')],
    ...specCases().map(([what, spec]) => [what, buildDomainXml(spec)] as [string, string]),
    ['memory devices, <vcpus>, a foreign <vm> in metadata', tricky("    <app:vm xmlns:app='urn:other'/>")],
    [
      'roost metadata under another prefix',
      tricky(`    <r:vm xmlns:r='${ROOST_XMLNS}'><r:created-by>x</r:created-by></r:vm>`),
    ],
    ['roost metadata as the default namespace', tricky(`    <vm xmlns='${ROOST_XMLNS}'/>`)],
    [
      'a prefix bound to roost on an element of another prefix',
      tricky(`    <a:vm xmlns:b='${ROOST_XMLNS}'/>`),
    ],
    ['memory in bytes', tricky('', "<memory unit='bytes'>536870912</memory>")],
    ['no metadata at all', tricky('').replace(/<metadata>[\s\S]*<\/metadata>/, '')],
  ])('%s', (_what, xml) => {
    expect(parseDomainSummary(xml)).toEqual(fromFullParse(xml));
  });

  // Each ~1.5 MB, with the only '>' at the end: a pattern that crossed '<' scanned to the end from every start
  // tag, for minutes. A hostile daemon (a remote host's) could send such a document to `roost ls`.
  it.each(['<domain ', '<memory ', '<vcpu ', '<vm ', "<r:vm xmlns:r='x' "])(
    'returns at once from a document of 200 000 "%s" and one >',
    (tag) => {
      const xml = `<domain type='qemu'><metadata>${tag.repeat(200_000)}></metadata>${tag.repeat(200_000)}>`;
      expect(parseDomainSummary(xml)).toMatchObject({
        cpus: 1,
        memoryMiB: 0,
        managedByRoost: false,
        nics: [],
      });
    },
  );

  it('reads the counts the tricky document has', () => {
    const s = parseDomainSummary(tricky(''));
    expect(s).toMatchObject({ domainType: 'kvm', accel: 'kvm', cpus: 4, memoryMiB: 3072 });
    expect(s.nics.map((n) => n.bridge)).toEqual(['br0']);
  });
});
