import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDomainXml } from './build.js';
import { assignTargets } from './devices.js';
import { DomainXmlError } from './errors.js';
import { nicSource, parseDomainXml, parseNicsOnly, toVmSpec } from './parse.js';
import { DEFAULT_PORT_ADDRESS, type VmSpec } from './spec.js';
import { sampleSpec, specCases } from './testing.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** What the spec looks like after the builder filled in its defaults: the round trip must give exactly this. */
function withDefaults(spec: VmSpec): VmSpec {
  const machine = spec.machine ?? 'q35';
  const iso =
    spec.boot.kind === 'cdrom' ? [{ path: spec.boot.iso, format: 'raw', device: 'cdrom' } as const] : [];
  const targets = assignTargets([...iso, ...spec.disks], machine).slice(iso.length);
  const drop = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return drop({
    ...spec,
    uuid: spec.uuid?.toLowerCase(),
    machine,
    memballoon: spec.memballoon ?? 'virtio',
    boot: drop({ ...spec.boot }),
    disks: spec.disks.map((d, i) => {
      const device = d.device ?? 'disk';
      const bus = d.bus ?? (device === 'cdrom' ? (machine === 'pc' ? 'ide' : 'sata') : 'virtio');
      return drop({
        ...d,
        device,
        bus,
        target: targets[i],
        readonly: device === 'disk' && d.readonly ? true : undefined,
      });
    }),
    network: spec.network.map((n) =>
      n.kind === 'user'
        ? drop({
            ...n,
            mac: n.mac?.toLowerCase(),
            ports: n.ports.map((p) =>
              drop({
                ...p,
                address: p.address ?? DEFAULT_PORT_ADDRESS,
                hostEnd: p.hostEnd === p.hostStart ? undefined : p.hostEnd,
              }),
            ),
          })
        : drop({ ...n, mac: n.mac?.toLowerCase() }),
    ),
    roost: drop({ ...spec.roost }),
  });
}

describe('parseDomainXml(buildDomainXml(spec))', () => {
  it.each(specCases())('gives the spec back: %s', (_what, spec) => {
    expect(toVmSpec(parseDomainXml(buildDomainXml(spec)))).toEqual(withDefaults(spec));
  });

  it('reads what it needs from the sample', () => {
    const parsed = parseDomainXml(buildDomainXml(sampleSpec()));
    expect(parsed).toMatchObject({
      name: 'demo',
      domainType: 'qemu',
      accel: 'tcg',
      memoryMiB: 1024,
      currentMemoryMiB: 1024,
      cpus: 2,
      firmware: 'uefi',
      machineFamily: 'q35',
      serialLog: '/home/u/.local/state/roost/logs/demo.serial.log',
      vnc: { socket: '/run/user/1000/roost/demo.vnc' },
      vncTcp: null,
      guestAgent: true,
      memballoon: 'virtio',
    });
    expect(parsed.nics[0]).toMatchObject({ type: 'user', backend: 'passt', model: 'virtio', exclusions: [] });
  });
});

describe('parseDomainXml on what libvirt returns', () => {
  it('reads a domain as `virsh dumpxml` gives it back after define (KiB, versioned machine, loader, nvram)', () => {
    const parsed = parseDomainXml(fixture('libvirt-dumped.xml'));
    expect(parsed).toMatchObject({
      name: 'roost-dx-dump',
      uuid: '63fb06f9-bb70-4889-a236-2f8e3d905606',
      accel: 'tcg',
      memoryMiB: 1024,
      cpus: 2,
      firmware: 'uefi',
      machine: 'pc-q35-10.0',
      machineFamily: 'q35',
      boot: { kind: 'cdrom', iso: '/isos/debian.iso' },
      vnc: { socket: '/run/user/1000/roost/demo.vnc' },
      guestAgent: true,
      roost: { createdBy: 'roost 0.1.0', imageRef: 'debian-12', autoPorts: true },
    });
    expect(parsed.nics).toEqual([
      {
        type: 'user',
        backend: 'passt',
        mac: '52:54:00:ef:8f:a9',
        model: 'virtio',
        bridge: undefined,
        network: undefined,
        ports: [
          { proto: 'tcp', address: '127.0.0.1', hostStart: 2222, guestStart: 22 },
          { proto: 'tcp', address: '127.0.0.1', hostStart: 8000, hostEnd: 8010, guestStart: 9000 },
          { proto: 'udp', address: '', hostStart: 5353, guestStart: 53 },
        ],
        exclusions: [],
        hostAccess: 'loopback',
      },
      {
        type: 'bridge',
        backend: 'default',
        mac: '52:54:00:12:34:56',
        model: 'virtio',
        bridge: 'virbr0',
        network: undefined,
        ports: [],
        exclusions: [],
        hostAccess: 'none',
      },
    ]);
    expect(toVmSpec(parsed).disks).toEqual([
      {
        path: '/home/u/.local/share/roost/pool/demo.qcow2',
        format: 'qcow2',
        bus: 'virtio',
        target: 'vda',
        device: 'disk',
      },
    ]);
  });

  it('reads a hand-made domain full of things roost does not model', () => {
    const parsed = parseDomainXml(fixture('handmade.xml'));
    expect(parsed).toMatchObject({
      name: 'hand&made',
      uuid: 'C7A5FDBD-EDAF-9455-926A-D65C16DB1809',
      domainType: 'kvm',
      accel: 'kvm',
      memoryMiB: 2048,
      currentMemoryMiB: 1536,
      cpus: 4,
      firmware: 'uefi',
      machine: 'pc-i440fx-9.2',
      machineFamily: 'pc',
      // Per-device boot order: the cdrom has order 1.
      boot: { kind: 'cdrom', iso: '/home/alice/isos/install.iso' },
      serialLog: '/home/alice/serial.log',
      vnc: null,
      vncTcp: { address: '127.0.0.1', port: undefined },
      guestAgent: true,
      memballoon: 'none',
      roost: undefined,
    });
    expect(
      parsed.disks.map((d) => [d.device, d.type, d.path, d.format, d.bus, d.target, d.readonly]),
    ).toEqual([
      ['disk', 'file', '/home/alice/vms/hand.qcow2', 'qcow2', 'scsi', 'sda', false],
      ['cdrom', 'file', '/home/alice/isos/install.iso', 'raw', 'ide', 'hdc', true],
      ['disk', 'network', undefined, 'raw', 'virtio', 'vdb', false],
      ['cdrom', 'file', undefined, undefined, 'ide', 'hdd', true],
    ]);
    expect(parsed.nics.map((n) => [n.type, n.backend, n.mac, n.model, n.bridge ?? n.network])).toEqual([
      ['user', 'passt', '52:54:00:ab:cd:ef', 'virtio', undefined],
      ['user', 'default', '52:54:00:00:00:02', 'e1000', undefined],
      ['network', 'default', undefined, 'virtio', 'default'],
      ['bridge', 'default', undefined, undefined, 'virbr0'],
    ]);
    expect(parsed.nics[0]?.ports).toEqual([
      { proto: 'tcp', address: '0.0.0.0', hostStart: 2022, guestStart: 22 },
      { proto: 'tcp', address: '0.0.0.0', hostStart: 5000, hostEnd: 5010, guestStart: 5000 },
      { proto: 'udp', address: '', hostStart: 6000, hostEnd: 6010, guestStart: 7000 },
    ]);
    expect(parsed.nics[0]?.exclusions).toEqual([{ proto: 'tcp', address: '0.0.0.0', hostStart: 5005 }]);
    // The VmSpec view keeps what it can express and drops the rest.
    const spec = toVmSpec(parsed);
    expect(spec.disks.map((d) => d.path)).toEqual(['/home/alice/vms/hand.qcow2']);
    expect(spec.network.map((n) => n.kind)).toEqual(['user', 'user', 'bridge']);
    expect(spec.roost).toEqual({ createdBy: '' });
  });

  it.each([
    ['an empty domain', '<domain/>'],
    ['a name only', `<domain type='qemu'><name>x</name></domain>`],
    ['empty elements', '<domain><name/><memory/><vcpu/><os/><devices/><metadata/></domain>'],
    [
      'nonsense values',
      `<domain type='xen'><memory unit='parsecs'>1</memory><vcpu>many</vcpu><os><kernel>  </kernel><boot dev='cdrom'/></os>
       <devices><disk/><interface/><interface type='user'><portForward><range start='0'/><range start='x' end='99999'/><range/></portForward></interface>
       <graphics type='vnc'/><serial/><channel/></devices><metadata><r:vm xmlns:r='https://roost.dev/xmlns/vm/1'/></metadata></domain>`,
    ],
  ])('gives defaults for %s and never throws', (_what, xml) => {
    const parsed = parseDomainXml(xml);
    expect(parsed.cpus).toBeGreaterThanOrEqual(1);
    expect(parsed.boot).toEqual({ kind: 'disk' });
    expect(() => toVmSpec(parsed)).not.toThrow();
    expect(() =>
      buildDomainXml({ ...toVmSpec(parsed), name: 'x', memoryMiB: 1, roost: { createdBy: 'x' } }),
    ).not.toThrow();
  });

  it('reads roost metadata under any prefix, and only in roost’s namespace', () => {
    const ours = parseDomainXml(
      `<domain><metadata><r:vm xmlns:r='https://roost.dev/xmlns/vm/1'><r:ssh-user>u</r:ssh-user><r:created-by>b</r:created-by></r:vm></metadata></domain>`,
    );
    expect(ours.roost).toEqual({ createdBy: 'b', sshUser: 'u' });
    const theirs = parseDomainXml(
      `<domain><metadata><roost:vm xmlns:roost='https://example.org/other'><roost:created-by>x</roost:created-by></roost:vm></metadata></domain>`,
    );
    expect(theirs.roost).toBeUndefined();
  });

  it('refuses a document that is not a domain', () => {
    expect(() => parseDomainXml('<network><name>default</name></network>')).toThrow(DomainXmlError);
    try {
      parseDomainXml('<domain>');
    } catch (err) {
      expect((err as DomainXmlError).code).toBe('DOMAIN_XML_INVALID');
    }
  });

  it('never throws anything but DomainXmlError on damaged real documents (every prefix, random edits)', () => {
    const xml = fixture('handmade.xml');
    const check = (input: string, label: string): void => {
      try {
        parseDomainXml(input);
      } catch (err) {
        expect(err, label).toBeInstanceOf(DomainXmlError);
      }
    };
    for (let i = 0; i <= xml.length; i += 7) check(xml.slice(0, i), `prefix ${i}`);
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const junk = `<>&;'"/=!-[]?# x\u0000\uFFFF`;
    for (let n = 0; n < 500; n++) {
      const at = random(xml.length);
      const edit = random(3);
      const ch = junk[random(junk.length)] as string;
      const mutated =
        edit === 0
          ? xml.slice(0, at) + xml.slice(at + 1)
          : edit === 1
            ? xml.slice(0, at) + ch + xml.slice(at)
            : xml.slice(0, at) + ch + xml.slice(at + 1);
      check(mutated, `edit ${edit} at ${at} with ${JSON.stringify(ch)}`);
    }
  });
});

describe('nicSource', () => {
  it('names a NIC by its bridge or network, else by its type alone', () => {
    const nics = parseDomainXml(
      `<domain type='qemu'><name>n</name><devices>
        <interface type='bridge'><source bridge='br0'/></interface>
        <interface type='network'><source network='default'/></interface>
        <interface type='udp'><source address='127.0.0.1' port='5555'><local address='127.0.0.1' port='5556'/></source></interface>
      </devices></domain>`,
    ).nics;
    expect(nics.map(nicSource)).toEqual(['bridge:br0', 'network:default', 'udp']);
  });
});

describe('parseNicsOnly: the NICs alone, as parseDomainXml reads them', () => {
  it.each([
    ['libvirt-dumped.xml', fixture('libvirt-dumped.xml')],
    ['handmade.xml', fixture('handmade.xml')],
    ...specCases().map(([what, spec]) => [what, buildDomainXml(spec)] as [string, string]),
  ])('%s', (_what, xml) => {
    expect(parseNicsOnly(xml)).toEqual(parseDomainXml(xml).nics);
  });

  it('reads self-closing interfaces, and nothing that only looks like one before <devices>', () => {
    const xml = `<domain type='qemu'><name>n</name>
  <metadata><app:x xmlns:app='urn:a'><interface type='user'><portForward proto='tcp'><range start='1' to='2'/>
  </portForward></interface></app:x></metadata>
  <devices>
    <interface type='network'/>
    <interfaces-not/>
    <interface type='user'><backend type='passt'/><portForward proto='udp'><range start='7000'/></portForward>
    </interface>
  </devices>
</domain>`;
    const nics = parseNicsOnly(xml);
    expect(nics.map((n) => n.type)).toEqual(['network', 'user']);
    expect(nics[1]!.ports).toEqual(parseDomainXml(xml).nics[1]!.ports);
    expect(nics[1]!.ports).toHaveLength(1);
  });

  it('finds none in a document without interfaces', () => {
    expect(parseNicsOnly("<domain type='qemu'><name>n</name><devices/></domain>")).toEqual([]);
  });

  // A hostile daemon (a remote host's) or a document that only looks like libvirt's: each of these, some 2 MB,
  // took a lazy regular expression minutes (a scan to the end from every start tag); this reader is linear.
  const devices = (body: string) => `<domain type='qemu'><name>n</name><devices>${body}</devices></domain>`;
  it.each([
    ['unclosed interfaces', devices("<interface type='user'>".repeat(100_000))],
    ['start tags without a >', devices('<interface '.repeat(200_000))],
    ['start tags whose > comes only at the end', devices('<interface '.repeat(200_000) + '>')],
  ])('reads no NIC from %s, and returns', (_what, xml) => {
    expect(parseNicsOnly(xml)).toEqual([]);
  });

  it('still reads the self-closing interfaces after one that is never closed, as the strict reader would not', () => {
    const xml = devices(
      `<interface type='user'><interface type='network'/>${"<interface type='bridge'/>".repeat(3)}`,
    );
    expect(parseNicsOnly(xml).map((n) => n.type)).toEqual(['network', 'bridge', 'bridge', 'bridge']);
  });

  it('does not take a start tag across a <, nor <interface as the start of a longer name', () => {
    const xml = devices(
      "<interface type='user' <interface type='network'/><interface-x type='bridge'/><interface\ttype='direct'/>",
    );
    expect(parseNicsOnly(xml).map((n) => n.type)).toEqual(['network', 'direct']);
  });
});
