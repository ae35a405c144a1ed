import { describe, expect, it } from 'vitest';
import { cloneDomainXml } from '../domain-xml/edit.js';
import { parseDomainXml } from '../domain-xml/parse.js';
import { planClonePorts } from './clone.js';

const SOURCE = `<domain type='qemu'>
  <name>web</name>
  <uuid>11111111-2222-4333-8444-555555555555</uuid>
  <metadata><other:x xmlns:other='urn:other'>kept</other:x></metadata>
  <os firmware='efi'>
    <type arch='x86_64' machine='pc-q35-10.0'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/home/u/.config/libvirt/qemu/nvram/web_VARS.fd</nvram>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/pool/web.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='/images/base.qcow2'/></backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/data/seeds/web.iso'/>
      <target dev='sda' bus='scsi'/>
      <readonly/>
    </disk>
    <interface type='user'>
      <mac address='52:54:00:aa:bb:cc'/>
      <portForward proto='tcp' address='127.0.0.1'><range start='2222' to='22'/><range start='8080' to='80'/></portForward>
      <backend type='passt'/>
    </interface>
    <serial type='pty'><log file='/logs/web.serial.log' append='on'/><target port='0'/></serial>
    <channel type='unix'><source mode='bind' path='/run/web/agent'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <graphics type='vnc' socket='/sockets/web.vnc'><listen type='socket' socket='/sockets/web.vnc'/></graphics>
  </devices>
</domain>
`;

describe('cloneDomainXml', () => {
  const xml = cloneDomainXml(SOURCE, {
    name: 'web2',
    uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    macs: ['52:54:00:11:22:33'],
    paths: new Map([
      ['/pool/web.qcow2', '/pool/web2.qcow2'],
      ['/data/seeds/web.iso', '/data/seeds/web2.iso'],
    ]),
    serialLog: '/logs/web2.serial.log',
    vncSocket: '/sockets/web2.vnc',
  });
  const parsed = parseDomainXml(xml);

  it('gives the copy its own name, UUID, MAC, disk, seed, log and VNC socket', () => {
    expect(parsed.name).toBe('web2');
    expect(parsed.uuid).toBe('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
    expect(parsed.nics[0]!.mac).toBe('52:54:00:11:22:33');
    expect(parsed.disks.map((d) => d.path)).toEqual(['/pool/web2.qcow2', '/data/seeds/web2.iso']);
    expect(parsed.serialLog).toBe('/logs/web2.serial.log');
    expect(parsed.vnc?.socket).toBe('/sockets/web2.vnc');
    expect(xml).not.toContain('/sockets/web.vnc');
  });

  it("drops what libvirt fills in per domain: the source's NVRAM file, its agent socket, the old backing chain", () => {
    expect(xml).not.toContain('web_VARS.fd');
    expect(xml).not.toContain('<nvram');
    expect(xml).toContain('OVMF_CODE_4M.fd');
    expect(xml).not.toContain('/run/web/agent');
    expect(xml).not.toContain('backingStore');
  });

  it("keeps the rest, other applications' metadata and the forwards too", () => {
    expect(xml).toContain('<other:x xmlns:other="urn:other">kept</other:x>');
    expect(parsed.nics[0]!.ports).toHaveLength(2);
  });

  it('refuses a MAC list that does not match the NICs', () => {
    expect(() => cloneDomainXml(SOURCE, { name: 'x', uuid: 'u', macs: [], paths: new Map() })).toThrow(
      /1 NICs but 0/,
    );
  });
});

describe('planClonePorts', () => {
  const parsed = parseDomainXml(SOURCE);
  const free = () => Promise.resolve(true);

  it('uses the ports given, and only those', async () => {
    const given = [
      { proto: 'tcp' as const, address: '127.0.0.1', hostStart: 9000, hostEnd: 9000, guestStart: 80 },
    ];
    expect(await planClonePorts(parsed, given, [], free)).toEqual({ ports: given, chosenPorts: [] });
  });

  it("chooses, for each of the source's forwards, the next host port no VM forwards and the host has free", async () => {
    const existing = [
      {
        vm: 'web',
        forward: {
          proto: 'tcp' as const,
          address: '127.0.0.1',
          hostStart: 2222,
          hostEnd: 2222,
          guestStart: 22,
        },
      },
      {
        vm: 'other',
        forward: {
          proto: 'tcp' as const,
          address: '127.0.0.1',
          hostStart: 2223,
          hostEnd: 2223,
          guestStart: 22,
        },
      },
    ];
    const busy = new Set([8081]);
    const r = await planClonePorts(parsed, undefined, existing, (_p, _a, port) =>
      Promise.resolve(!busy.has(port)),
    );
    expect(r.ports.map((p) => [p.hostStart, p.guestStart])).toEqual([
      [2224, 22],
      [8082, 80],
    ]);
    expect(r.chosenPorts).toEqual(r.ports);
  });
});

describe('a clone of an applied VM', () => {
  it('does not carry the apply mark, so the file’s apply --prune never removes the clone', async () => {
    const { appliedFrom, withoutApplyMark } = await import('./apply-mark.js');
    const { parseXml } = await import('../domain-xml/xml.js');
    const applied = SOURCE.replace(
      '<metadata>',
      `<metadata><apply:source xmlns:apply='https://roost.dev/xmlns/apply/1' file='/home/me/vms.yaml'/>`,
    );
    expect(appliedFrom(parseXml(applied).root)).toBe('/home/me/vms.yaml');
    const stripped = withoutApplyMark(applied);
    expect(appliedFrom(parseXml(stripped).root)).toBeUndefined();
    expect(stripped).toContain('<other:x xmlns:other="urn:other">kept</other:x>');
    expect(withoutApplyMark(SOURCE)).toBe(SOURCE);
  });
});
