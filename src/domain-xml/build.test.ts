import { describe, expect, it } from 'vitest';
import { buildDomainXml, HOST_ACCESS_MODES, hostAccessProblem } from './build.js';
import { parseDomainXml } from './parse.js';
import { DomainXmlError } from './errors.js';
import { hasQuickCpuProbe, QEMU_XMLNS } from './quick-cpu-probe.js';
import { ROOST_XMLNS, type VmSpec } from './spec.js';
import { sampleSpec, specCases, validateWithLibvirt } from './testing.js';
import { childElements, firstChild, parseXml, textContent, type XmlElement } from './xml.js';

function tree(spec: VmSpec): XmlElement {
  return parseXml(buildDomainXml(spec)).root;
}

function path(root: XmlElement, ...names: string[]): XmlElement | undefined {
  let el: XmlElement | undefined = root;
  for (const name of names) el = firstChild(el, name);
  return el;
}

function attrs(el: XmlElement | undefined): Record<string, string> {
  return Object.fromEntries(el?.attrs ?? []);
}

describe('buildDomainXml', () => {
  it('puts a virtio-scsi controller under SCSI drives (cloud kernels lack AHCI)', () => {
    const xml = buildDomainXml(
      sampleSpec({
        disks: [
          { path: '/pool/web.qcow2', format: 'qcow2' },
          { path: '/seeds/web.iso', format: 'raw', device: 'cdrom', readonly: true, bus: 'scsi' },
        ],
      }),
    );
    expect(xml).toMatch(
      /<controller type="scsi" model="virtio-scsi"\/>|<controller type='scsi' model='virtio-scsi'\/>/,
    );
    expect(xml).toMatch(/<target dev=.sda. bus=.scsi.\/>/);
    expect(buildDomainXml(sampleSpec())).not.toContain('virtio-scsi');
  });

  // Required by the issue: libvirt's own RELAX NG schema accepts every document the builder writes.
  it.each(specCases())('writes a document virt-xml-validate accepts: %s', async (_what, spec) => {
    const xml = buildDomainXml(spec);
    const result = await validateWithLibvirt(xml);
    expect(result.output).toMatch(/validates/);
    expect(result.ok, `${result.output}\n${xml}`).toBe(true);
  });

  it('writes the default shape: TCG, q35, UEFI without secure boot, virtio disk, passt ports', () => {
    const root = tree(sampleSpec());
    expect(attrs(root)).toEqual({ type: 'qemu', 'xmlns:qemu': QEMU_XMLNS });
    expect(textContent(path(root, 'name'))).toBe('demo');
    expect(attrs(path(root, 'memory'))).toEqual({ unit: 'MiB' });
    expect(textContent(path(root, 'memory'))).toBe('1024');
    expect(textContent(path(root, 'vcpu'))).toBe('2');
    const os = path(root, 'os')!;
    expect(attrs(os)).toEqual({ firmware: 'efi' });
    expect(attrs(firstChild(os, 'type'))).toEqual({ arch: 'x86_64', machine: 'q35' });
    // No loader/nvram paths: libvirt picks them (see the note in build.ts).
    expect(firstChild(os, 'loader')).toBeUndefined();
    expect(firstChild(os, 'nvram')).toBeUndefined();
    expect(childElements(firstChild(os, 'firmware')!).map(attrs)).toEqual([
      { enabled: 'no', name: 'enrolled-keys' },
      { enabled: 'no', name: 'secure-boot' },
    ]);
    expect(childElements(os, 'boot').map(attrs)).toEqual([{ dev: 'hd' }]);
    expect(attrs(path(root, 'cpu'))).toMatchObject({ mode: 'maximum' });

    const devices = path(root, 'devices')!;
    const disk = firstChild(devices, 'disk')!;
    expect(attrs(disk)).toEqual({ type: 'file', device: 'disk' });
    expect(attrs(firstChild(disk, 'driver'))).toMatchObject({ name: 'qemu', type: 'qcow2' });
    expect(attrs(firstChild(disk, 'target'))).toEqual({ dev: 'vda', bus: 'virtio' });

    const nic = firstChild(devices, 'interface')!;
    expect(attrs(nic)).toEqual({ type: 'user' });
    expect(attrs(firstChild(nic, 'backend'))).toEqual({ type: 'passt' });
    expect(
      childElements(nic, 'portForward').map((pf) => [attrs(pf), childElements(pf, 'range').map(attrs)]),
    ).toEqual([
      [
        { proto: 'tcp', address: '127.0.0.1' },
        [
          { start: '2222', to: '22' },
          { start: '8000', end: '8010', to: '9000' },
        ],
      ],
      [{ proto: 'udp' }, [{ start: '5353', to: '53' }]],
    ]);
    expect(attrs(firstChild(nic, 'model'))).toEqual({ type: 'virtio' });
  });

  it('writes the serial log, console, guest agent, VNC socket, RNG and balloon', () => {
    const devices = path(tree(sampleSpec()), 'devices')!;
    const serial = firstChild(devices, 'serial')!;
    expect(attrs(serial)).toEqual({ type: 'pty' });
    expect(attrs(firstChild(serial, 'log'))).toEqual({
      file: '/home/u/.local/state/roost/logs/demo.serial.log',
      append: 'on',
    });
    expect(attrs(path(devices, 'console', 'target'))).toEqual({ type: 'serial', port: '0' });
    expect(attrs(firstChild(devices, 'channel'))).toEqual({ type: 'unix' });
    expect(attrs(path(devices, 'channel', 'target'))).toEqual({
      type: 'virtio',
      name: 'org.qemu.guest_agent.0',
    });
    const graphics = firstChild(devices, 'graphics')!;
    expect(attrs(graphics)).toEqual({ type: 'vnc' });
    // A UNIX socket only: no port, no autoport, no TCP listen address.
    expect(childElements(graphics).map(attrs)).toEqual([
      { type: 'socket', socket: '/run/user/1000/roost/demo.vnc' },
    ]);
    expect(attrs(firstChild(devices, 'rng'))).toEqual({ model: 'virtio' });
    expect(attrs(firstChild(devices, 'memballoon'))).toEqual({ model: 'virtio' });
  });

  it('records roost metadata in its own namespace', () => {
    const vm = firstChild(path(tree(sampleSpec()), 'metadata'), 'roost:vm')!;
    expect(attrs(vm)).toEqual({ 'xmlns:roost': ROOST_XMLNS });
    expect(childElements(vm).map((c) => [c.name, textContent(c)])).toEqual([
      ['roost:created-by', 'roost 0.1.0'],
      ['roost:created-at', '2025-01-02T03:04:05.000Z'],
      ['roost:image-ref', 'debian-12'],
      ['roost:ssh-user', 'debian'],
      ['roost:ssh-key-path', '/home/u/.ssh/id_ed25519.pub'],
      ['roost:auto-ports', 'yes'],
    ]);
  });

  it('uses type kvm and host-passthrough with KVM', () => {
    const root = tree(sampleSpec({ accel: 'kvm' }));
    expect(attrs(root)).toEqual({ type: 'kvm', 'xmlns:qemu': QEMU_XMLNS });
    expect(attrs(path(root, 'cpu'))).toMatchObject({ mode: 'host-passthrough' });
  });

  it('takes cpu-unavailable-features away, so libvirt reads the CPU in 3 QMP calls; quickCpuProbe: false does not', () => {
    const root = tree(sampleSpec());
    const caps = firstChild(root, 'qemu:capabilities')!;
    expect(childElements(caps).map((c) => [c.name, attrs(c)])).toEqual([
      ['qemu:del', { capability: 'cpu-unavailable-features' }],
    ]);
    expect(hasQuickCpuProbe(root)).toBe(true);
    const plain = tree(sampleSpec({ quickCpuProbe: false }));
    expect(attrs(plain)).toEqual({ type: 'qemu' });
    expect(firstChild(plain, 'qemu:capabilities')).toBeUndefined();
    expect(hasQuickCpuProbe(plain)).toBe(false);
  });

  it('finds the override under any prefix bound to QEMU namespace, and only then', () => {
    const doc = (ns: string) =>
      parseXml(
        `<domain type='qemu' xmlns:q='${ns}'><q:capabilities><q:del capability='cpu-unavailable-features'/>` +
          `</q:capabilities></domain>`,
      ).root;
    expect(hasQuickCpuProbe(doc(QEMU_XMLNS))).toBe(true);
    expect(hasQuickCpuProbe(doc('urn:other'))).toBe(false);
  });

  it('writes BIOS as no firmware at all', () => {
    const os = path(tree(sampleSpec({ firmware: 'bios' })), 'os')!;
    expect(attrs(os)).toEqual({});
    expect(firstChild(os, 'firmware')).toBeUndefined();
  });

  it('writes direct kernel boot without a boot device', () => {
    const os = path(
      tree(
        sampleSpec({ boot: { kind: 'kernel', kernel: '/k/vmlinuz', initrd: '/k/initrd', cmdline: 'a b' } }),
      ),
      'os',
    )!;
    expect(childElements(os).map((c) => [c.name, textContent(c)?.trim()])).toEqual([
      ['type', 'hvm'],
      ['firmware', ''],
      ['kernel', '/k/vmlinuz'],
      ['initrd', '/k/initrd'],
      ['cmdline', 'a b'],
    ]);
  });

  it('boots an ISO from a read-only cdrom first: sata on q35, ide on pc', () => {
    for (const [machine, bus, dev] of [
      ['q35', 'sata', 'sda'],
      ['pc', 'ide', 'hda'],
    ] as const) {
      const root = tree(sampleSpec({ machine, boot: { kind: 'cdrom', iso: '/isos/x.iso' } }));
      expect(childElements(path(root, 'os')!, 'boot').map(attrs)).toEqual([{ dev: 'cdrom' }, { dev: 'hd' }]);
      const [cdrom, disk] = childElements(path(root, 'devices')!, 'disk');
      expect(attrs(cdrom)).toEqual({ type: 'file', device: 'cdrom' });
      expect(attrs(firstChild(cdrom, 'source'))).toEqual({ file: '/isos/x.iso' });
      expect(attrs(firstChild(cdrom, 'target'))).toEqual({ dev, bus });
      expect(firstChild(cdrom, 'readonly')).toBeDefined();
      expect(attrs(firstChild(disk, 'target'))).toEqual({ dev: 'vda', bus: 'virtio' });
    }
  });

  it('names targets per bus and keeps the ones given', () => {
    const devices = path(
      tree(
        sampleSpec({
          disks: [
            { path: '/d/1', format: 'qcow2' },
            { path: '/d/2', format: 'qcow2', target: 'vda' },
            { path: '/d/3', format: 'raw', device: 'cdrom' },
            { path: '/d/4', format: 'raw', bus: 'sata' },
          ],
        }),
      ),
      'devices',
    )!;
    expect(childElements(devices, 'disk').map((d) => attrs(firstChild(d, 'target')).dev)).toEqual([
      'vdb',
      'vda',
      'sda',
      'sdb',
    ]);
  });

  it('writes a bridge NIC through the source bridge', () => {
    const nic = path(
      tree(sampleSpec({ network: [{ kind: 'bridge', bridge: 'virbr0', mac: '52:54:00:AA:BB:CC' }] })),
      'devices',
      'interface',
    )!;
    expect(attrs(nic)).toEqual({ type: 'bridge' });
    expect(childElements(nic).map((c) => [c.name, attrs(c)])).toEqual([
      ['mac', { address: '52:54:00:aa:bb:cc' }],
      ['source', { bridge: 'virbr0' }],
      ['model', { type: 'virtio' }],
    ]);
  });

  it('escapes names, paths and metadata: the parsed document holds the exact strings', () => {
    const nasty = `a&b<c>d'e"f ]]> &amp; <!-- x -->`;
    const root = tree(
      sampleSpec({
        name: nasty,
        disks: [{ path: `/d/${nasty}`, format: 'raw' }],
        roost: { createdBy: nasty },
      }),
    );
    expect(textContent(path(root, 'name'))).toBe(nasty);
    expect(path(root, 'devices', 'disk', 'source')?.attrs.get('file')).toBe(`/d/${nasty}`);
    expect(textContent(path(root, 'metadata', 'roost:vm', 'roost:created-by'))).toBe(nasty);
    const xml = buildDomainXml(sampleSpec({ name: nasty }));
    expect(xml).toContain('<name>a&amp;b&lt;c&gt;d\'e"f ]]&gt; &amp;amp; &lt;!-- x --&gt;</name>');
  });

  const badSpecs: Array<[string, Partial<VmSpec>]> = [
    ['an empty name', { name: '' }],
    ['a name with a newline', { name: 'a\nb' }],
    ['a name with a control character', { name: 'a\u0007' }],
    ['a bad uuid', { uuid: 'nope' }],
    ['zero memory', { memoryMiB: 0 }],
    ['fractional CPUs', { cpus: 1.5 }],
    ['an unknown accel', { accel: 'hvf' as never }],
    ['an unknown firmware', { firmware: 'coreboot' as never }],
    ['a relative disk path', { disks: [{ path: 'disk.qcow2', format: 'qcow2' }] }],
    ['an unknown disk format', { disks: [{ path: '/d', format: 'vmdk' as never }] }],
    ['a bad target', { disks: [{ path: '/d', format: 'raw', target: 'nvme0' }] }],
    [
      'a duplicate target',
      {
        disks: [
          { path: '/a', format: 'raw', target: 'vda' },
          { path: '/b', format: 'raw', target: 'vda' },
        ],
      },
    ],
    ['a relative kernel', { boot: { kind: 'kernel', kernel: 'vmlinuz' } }],
    ['an unknown boot kind', { boot: { kind: 'pxe' } as never }],
    ['port 0', { network: [{ kind: 'user', ports: [{ proto: 'tcp', hostStart: 0, guestStart: 80 }] }] }],
    [
      'port 65536',
      { network: [{ kind: 'user', ports: [{ proto: 'tcp', hostStart: 65536, guestStart: 80 }] }] },
    ],
    [
      'a reversed range',
      { network: [{ kind: 'user', ports: [{ proto: 'tcp', hostStart: 10, hostEnd: 5, guestStart: 10 }] }] },
    ],
    [
      'a guest range past 65535',
      {
        network: [
          { kind: 'user', ports: [{ proto: 'tcp', hostStart: 100, hostEnd: 110, guestStart: 65530 }] },
        ],
      },
    ],
    [
      'an unknown protocol',
      { network: [{ kind: 'user', ports: [{ proto: 'sctp' as never, hostStart: 1, guestStart: 1 }] }] },
    ],
    [
      'a host name as address',
      {
        network: [
          { kind: 'user', ports: [{ proto: 'tcp', address: 'localhost', hostStart: 1, guestStart: 1 }] },
        ],
      },
    ],
    ['a multicast MAC', { network: [{ kind: 'bridge', bridge: 'virbr0', mac: '01:00:5e:00:00:01' }] }],
    ['a malformed MAC', { network: [{ kind: 'user', ports: [], mac: '52:54:00' }] }],
    ['a bridge name with a space', { network: [{ kind: 'bridge', bridge: 'vir br0' }] }],
    ['a bridge name over 15 bytes', { network: [{ kind: 'bridge', bridge: 'abcdefghijklmnop' }] }],
    ['an unknown NIC kind', { network: [{ kind: 'macvtap' } as never] }],
    ['a relative VNC socket', { vnc: { socket: 'vnc.sock' } }],
    ['no created-by', { roost: { createdBy: '' } }],
  ];

  it.each(badSpecs)('refuses %s with DOMAIN_XML_BAD_SPEC', (_what, override) => {
    let caught: unknown;
    try {
      buildDomainXml(sampleSpec(override));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DomainXmlError);
    expect((caught as DomainXmlError).code).toBe('DOMAIN_XML_BAD_SPEC');
  });
});

describe('host access (what the guest reaches on the host)', () => {
  const user = (hostAccess?: 'loopback' | 'none') =>
    sampleSpec({ network: [{ kind: 'user', ports: [], ...(hostAccess ? { hostAccess } : {}) }] });
  it("builds 'loopback' as the plain passt NIC libvirt knows (its default mapping)", () => {
    expect(buildDomainXml(user('loopback'))).toBe(buildDomainXml(user()));
  });
  it("refuses 'none' for a passt NIC, naming the option libvirt cannot pass", () => {
    expect(() => buildDomainXml(user('none'))).toThrow(DomainXmlError);
    expect(() => buildDomainXml(user('none'))).toThrow(/--host-access none .* --no-map-gw/);
  });
  it('round-trips through parse: a passt NIC reaches the host loopback, a bridged one does not', () => {
    const xml = buildDomainXml(
      sampleSpec({
        network: [
          { kind: 'user', ports: [], hostAccess: 'loopback' },
          { kind: 'bridge', bridge: 'virbr0' },
        ],
      }),
    );
    expect(parseDomainXml(xml).nics.map((n) => n.hostAccess)).toEqual(['loopback', 'none']);
  });
  it('accepts none when no NIC uses passt, and says why not when one does', () => {
    expect(hostAccessProblem('none', [{ kind: 'bridge', bridge: 'br0' }])).toBeUndefined();
    expect(hostAccessProblem('none', [])).toBeUndefined();
    expect(hostAccessProblem('loopback', [{ kind: 'user', ports: [] }])).toBeUndefined();
    expect(hostAccessProblem('none', [{ kind: 'user', ports: [] }])).toMatch(
      /gateway address to the host's 127\.0\.0\.1/,
    );
    expect(HOST_ACCESS_MODES).toEqual(['loopback']);
  });
});
