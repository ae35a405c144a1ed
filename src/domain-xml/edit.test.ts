import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDomainXml } from './build.js';
import {
  addDisk,
  editDomainXml,
  removeDisk,
  setMemory,
  setPortForwards,
  setRoostMetadata,
  setVcpus,
} from './edit.js';
import { DomainXmlError, type DomainXmlErrorCode } from './errors.js';
import { parseDomainXml } from './parse.js';
import { canonical, sampleSpec, validateWithLibvirt } from './testing.js';
import { firstChild, parseXml } from './xml.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const handmade = fixture('handmade.xml');
const dumped = fixture('libvirt-dumped.xml');

type Canon = ReturnType<typeof canonical>[number];

/**
 * Removes the elements at `path` (element names from the document's top; 'name#i' = the i-th sibling of that
 * name) from a canonical tree, so that two documents can be compared everywhere except the edited part.
 */
function without(nodes: Canon[], path: string[]): Canon[] {
  const [head, ...rest] = path;
  if (head === undefined) return nodes;
  const [name, indexText] = head.split('#');
  const wanted = indexText === undefined ? undefined : Number(indexText);
  let seen = 0;
  const out: Canon[] = [];
  for (const node of nodes) {
    if (typeof node === 'string' || !('name' in node) || node.name !== name) {
      out.push(node);
      continue;
    }
    const index = seen++;
    if (wanted !== undefined && index !== wanted) {
      out.push(node);
      continue;
    }
    if (rest.length === 0) continue;
    out.push({ ...node, children: without(node.children, rest) });
  }
  return out;
}

function exceptAt(xml: string, ...paths: string[][]): Canon[] {
  return paths.reduce((acc, p) => without(acc, p), canonical(xml));
}

function expectCode(fn: () => unknown, code: DomainXmlErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DomainXmlError);
  expect((caught as DomainXmlError).code).toBe(code);
}

describe('edits keep everything roost does not model', () => {
  it('a no-op edit changes nothing but the quote style (and whitespace between prolog nodes)', () => {
    const out = editDomainXml(handmade, () => {});
    expect(canonical(out)).toEqual(canonical(handmade));
    // Inside the root, byte for byte, once single-quoted attributes are written with double quotes.
    const body = (s: string): string =>
      s.slice(s.indexOf('<domain'), s.indexOf('</domain>')).replace(/'/g, '"');
    expect(body(out)).toBe(body(handmade).replace('a "quoted"', 'a &quot;quoted&quot;'));
  });

  it('setMemory changes <memory> and <currentMemory> only', () => {
    const out = setMemory(handmade, 4096);
    expect(exceptAt(out, ['domain', 'memory'], ['domain', 'currentMemory'])).toEqual(
      exceptAt(handmade, ['domain', 'memory'], ['domain', 'currentMemory']),
    );
    const parsed = parseDomainXml(out);
    expect([parsed.memoryMiB, parsed.currentMemoryMiB]).toEqual([4096, 4096]);
    expect(out).toContain(`<memory unit="KiB">4194304</memory>`);
    // The untouched parts keep their layout and comments.
    expect(out).toContain('\n  <cputune>\n    <shares>2048</shares>\n');
    expect(out).toContain('<!-- comment inside metadata -->');
    expect(out).toContain('<description><![CDATA[Notes with <markup> & an ampersand]]></description>');
  });

  it('setVcpus changes the count, drops current and the per-vCPU list, and fixes the topology', () => {
    const out = setVcpus(handmade, 6);
    const paths = [
      ['domain', 'vcpu'],
      ['domain', 'vcpus'],
      ['domain', 'cpu', 'topology'],
    ];
    expect(exceptAt(out, ...paths)).toEqual(exceptAt(handmade, ...paths));
    const root = parseXml(out).root;
    expect(Object.fromEntries(firstChild(root, 'vcpu')!.attrs)).toEqual({ placement: 'static' });
    expect(parseDomainXml(out).cpus).toBe(6);
    expect(firstChild(root, 'vcpus')).toBeUndefined();
    expect(Object.fromEntries(firstChild(firstChild(root, 'cpu'), 'topology')!.attrs)).toEqual({
      sockets: '6',
      dies: '1',
      cores: '1',
      threads: '1',
    });
    // A topology that still multiplies out is left alone.
    const four = setVcpus(handmade, 4);
    expect(firstChild(firstChild(parseXml(four).root, 'cpu'), 'topology')!.attrs.get('cores')).toBe('2');
  });

  it('setPortForwards replaces the forwards of one NIC, keeping its exclusions and other attributes', () => {
    const ports = [
      { proto: 'tcp', address: '0.0.0.0', hostStart: 8080, guestStart: 80 },
      { proto: 'tcp', hostStart: 2222, guestStart: 22 },
    ] as const;
    for (const selector of [0, '52:54:00:ab:cd:ef', '52:54:00:AB:CD:EF']) {
      const out = setPortForwards(handmade, selector, [...ports]);
      const nicPath = ['domain', 'devices', 'interface#0', 'portForward'];
      expect(exceptAt(out, nicPath)).toEqual(exceptAt(handmade, nicPath));
      const nic = parseDomainXml(out).nics[0]!;
      expect(nic.ports).toEqual([
        { proto: 'tcp', address: '0.0.0.0', hostStart: 8080, guestStart: 80 },
        { proto: 'tcp', address: '127.0.0.1', hostStart: 2222, guestStart: 22 },
      ]);
      expect(nic.exclusions).toEqual([{ proto: 'tcp', address: '0.0.0.0', hostStart: 5005 }]);
      // The reused group keeps dev='eth0'; the emptied udp group is gone; the new group follows the old one.
      expect(out).toMatch(
        /<portForward proto="tcp" address="0.0.0.0" dev="eth0">\s*<range start="5005" exclude="yes"\/>\s*<range start="8080" to="80"\/>\s*<\/portForward>\s*<portForward proto="tcp" address="127.0.0.1">\s*<range start="2222" to="22"\/>\s*<\/portForward>\s*<model type="virtio"\/>/,
      );
      expect(out).not.toContain('proto="udp"');
    }
  });

  it('setPortForwards on a roost domain: parse gives the new ports, libvirt accepts the result', async () => {
    const out = setPortForwards(buildDomainXml(sampleSpec()), 0, [
      { proto: 'udp', hostStart: 5353, guestStart: 53 },
      { proto: 'tcp', address: '::1', hostStart: 9000, hostEnd: 9009, guestStart: 9000 },
    ]);
    expect(parseDomainXml(out).nics[0]?.ports).toEqual([
      { proto: 'udp', address: '127.0.0.1', hostStart: 5353, guestStart: 53 },
      { proto: 'tcp', address: '::1', hostStart: 9000, hostEnd: 9009, guestStart: 9000 },
    ]);
    expect((await validateWithLibvirt(out)).ok).toBe(true);
    const none = setPortForwards(out, 0, []);
    expect(parseDomainXml(none).nics[0]?.ports).toEqual([]);
    expect(none).not.toContain('portForward');
    expect((await validateWithLibvirt(none)).ok).toBe(true);
  });

  it('setPortForwards refuses NICs that cannot forward, and NICs that do not exist', () => {
    const port = [{ proto: 'tcp', hostStart: 1, guestStart: 1 }] as const;
    expectCode(() => setPortForwards(handmade, 1, [...port]), 'DOMAIN_XML_BAD_SPEC'); // slirp
    expectCode(() => setPortForwards(handmade, 3, [...port]), 'DOMAIN_XML_BAD_SPEC'); // bridge
    expectCode(() => setPortForwards(handmade, 9, [...port]), 'DOMAIN_XML_NOT_FOUND');
    expectCode(() => setPortForwards(handmade, '52:54:00:99:99:99', [...port]), 'DOMAIN_XML_NOT_FOUND');
    expectCode(
      () => setPortForwards(handmade, 0, [{ proto: 'tcp', hostStart: 0, guestStart: 1 }]),
      'DOMAIN_XML_BAD_SPEC',
    );
  });

  it('setRoostMetadata adds roost’s element beside other applications’ metadata', () => {
    const meta = { createdBy: 'roost 0.1.0', sshUser: 'alice', autoPorts: false };
    const out = setRoostMetadata(handmade, meta);
    const metaPath = ['domain', 'metadata', 'roost:vm'];
    expect(exceptAt(out, metaPath)).toEqual(canonical(handmade));
    expect(parseDomainXml(out).roost).toEqual(meta);
    // Replacing it again keeps its position and the rest.
    const again = setRoostMetadata(out, { createdBy: 'roost 0.2.0' });
    expect(exceptAt(again, metaPath)).toEqual(canonical(handmade));
    expect(parseDomainXml(again).roost).toEqual({ createdBy: 'roost 0.2.0' });
    expect(again.match(/roost:vm xmlns/g)).toHaveLength(1);
  });

  it('setRoostMetadata creates <metadata> after name/uuid/title/description when there is none', async () => {
    const xml = `<domain type='qemu'>\n  <name>x</name>\n  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n  <memory>1024</memory>\n  <os><type>hvm</type></os>\n</domain>\n`;
    const out = setRoostMetadata(xml, { createdBy: 'roost', imageRef: 'a&b' });
    expect(out).toMatch(
      /<\/uuid>\n {2}<metadata>\n {4}<roost:vm xmlns:roost="https:\/\/roost.dev\/xmlns\/vm\/1">\n {6}<roost:created-by>roost<\/roost:created-by>/,
    );
    expect(parseDomainXml(out).roost).toEqual({ createdBy: 'roost', imageRef: 'a&b' });
    expect((await validateWithLibvirt(out)).ok).toBe(true);
  });

  it('addDisk appends after the last disk with a free target; removeDisk takes it out again', () => {
    const out = addDisk(handmade, { path: '/home/alice/vms/data.qcow2', format: 'qcow2' });
    const parsed = parseDomainXml(out);
    expect(parsed.disks.map((d) => d.target)).toEqual(['sda', 'hdc', 'vdb', 'hdd', 'vda']);
    expect(parsed.disks[4]).toMatchObject({
      path: '/home/alice/vms/data.qcow2',
      format: 'qcow2',
      bus: 'virtio',
    });
    expect(canonical(removeDisk(out, 'vda'))).toEqual(canonical(handmade));
    expect(canonical(removeDisk(out, '/home/alice/vms/data.qcow2'))).toEqual(canonical(handmade));
    // A cdrom on a pc machine goes on IDE, after hdc and hdd.
    const cd = parseDomainXml(addDisk(handmade, { path: '/i.iso', format: 'raw', device: 'cdrom' }));
    expect(cd.disks[4]).toMatchObject({ bus: 'ide', target: 'hda', readonly: true });
  });

  it('removeDisk keeps the other disks and everything else', () => {
    const out = removeDisk(handmade, '/home/alice/isos/install.iso');
    expect(canonical(out)).toEqual(exceptAt(handmade, ['domain', 'devices', 'disk#1']));
    expect(parseDomainXml(out).disks).toHaveLength(3);
  });

  it('disk edits refuse taken targets and unknown disks', () => {
    expectCode(() => addDisk(handmade, { path: '/x', format: 'raw', target: 'sda' }), 'DOMAIN_XML_BAD_SPEC');
    expectCode(() => addDisk(handmade, { path: 'relative', format: 'raw' }), 'DOMAIN_XML_BAD_SPEC');
    expectCode(() => removeDisk(handmade, 'vdz'), 'DOMAIN_XML_NOT_FOUND');
  });

  it('a chain of every edit leaves the rest of a hand-made domain as it was', () => {
    let out = setMemory(handmade, 3072);
    out = setVcpus(out, 4);
    out = setPortForwards(out, '52:54:00:ab:cd:ef', [{ proto: 'tcp', hostStart: 8080, guestStart: 80 }]);
    out = setRoostMetadata(out, { createdBy: 'roost' });
    out = addDisk(out, { path: '/d/new.raw', format: 'raw', target: 'vdc' });
    out = removeDisk(out, 'vdc');
    const edited = [
      ['domain', 'memory'],
      ['domain', 'currentMemory'],
      ['domain', 'vcpu'],
      ['domain', 'vcpus'],
      ['domain', 'devices', 'interface#0', 'portForward'],
      ['domain', 'metadata', 'roost:vm'],
    ];
    expect(exceptAt(out, ...edited)).toEqual(exceptAt(handmade, ...edited));
    // Namespaced elements and their declarations survive, with their values.
    const qemu = firstChild(parseXml(out).root, 'qemu:commandline')!;
    expect(parseXml(out).root.attrs.get('xmlns:qemu')).toBe('http://libvirt.org/schemas/domain/qemu/1.0');
    expect(
      qemu.children
        .filter((c) => c.type === 'element')
        .map((c) => (c.type === 'element' ? [...c.attrs] : [])),
    ).toEqual([
      [['value', '-fw_cfg']],
      [['value', 'name=opt/com.example/blob,string=a "quoted" & value']],
      [
        ['name', 'QEMU_AUDIO_DRV'],
        ['value', 'none'],
      ],
    ]);
  });

  it('every edit of libvirt’s own output still validates', async () => {
    const outputs = [
      setMemory(dumped, 512),
      setVcpus(dumped, 3),
      setPortForwards(dumped, 0, [{ proto: 'tcp', hostStart: 18080, guestStart: 80 }]),
      setRoostMetadata(dumped, { createdBy: 'roost', sshKeyPath: '/k' }),
      addDisk(dumped, { path: '/d/extra.qcow2', format: 'qcow2' }),
      removeDisk(dumped, 'sda'),
    ];
    const results = await Promise.all(outputs.map(validateWithLibvirt));
    results.forEach((r, i) => expect(r.ok, `${r.output}\n${outputs[i]}`).toBe(true));
    expect((await validateWithLibvirt(setMemory(handmade, 1024))).ok).toBe(true);
  });

  it('refuses input that is not a domain, and bad arguments, with typed errors', () => {
    expectCode(() => setMemory('<network/>', 1), 'DOMAIN_XML_INVALID');
    expectCode(() => setMemory('not xml', 1), 'DOMAIN_XML_INVALID');
    expectCode(() => setMemory(handmade, 0), 'DOMAIN_XML_BAD_SPEC');
    expectCode(() => setVcpus(handmade, -1), 'DOMAIN_XML_BAD_SPEC');
    expectCode(() => setRoostMetadata(handmade, { createdBy: '\u0000' }), 'DOMAIN_XML_BAD_SPEC');
  });

  it('adds missing elements to a bare domain instead of failing', () => {
    const bare = '<domain type="qemu"><name>b</name></domain>';
    expect(parseDomainXml(setMemory(bare, 256)).memoryMiB).toBe(256);
    expect(parseDomainXml(setVcpus(bare, 2)).cpus).toBe(2);
    expect(parseDomainXml(addDisk(bare, { path: '/d/a.raw', format: 'raw' })).disks[0]?.target).toBe('vda');
    expectCode(() => setPortForwards(bare, 0, []), 'DOMAIN_XML_NOT_FOUND');
  });
});
