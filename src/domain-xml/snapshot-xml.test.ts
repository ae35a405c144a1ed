import { describe, expect, it } from 'vitest';
import { buildSnapshotXml, parseSnapshotXml } from './snapshot-xml.js';

describe('buildSnapshotXml', () => {
  it('internal: only the name and description (libvirt takes memory too when the VM runs)', () => {
    expect(buildSnapshotXml({ name: 's1', description: 'a <b> & "c"', kind: 'internal', disks: [] })).toBe(
      '<domainsnapshot>\n  <name>s1</name>\n  <description>a &lt;b&gt; &amp; "c"</description>\n</domainsnapshot>\n',
    );
  });

  it('external: a memory file, an overlay per writable disk, the others left out explicitly', () => {
    const xml = buildSnapshotXml({
      name: 's1',
      kind: 'external',
      memoryFile: "/p/it's.mem",
      disks: [{ target: 'vda', overlay: '/p/web.s1.vda.qcow2' }, { target: 'sda' }],
    });
    expect(xml).toContain(`<memory snapshot='external' file='/p/it&apos;s.mem'/>`);
    expect(xml).toContain(
      `<disk name='vda' snapshot='external' type='file'><driver type='qcow2'/><source file='/p/web.s1.vda.qcow2'/></disk>`,
    );
    expect(xml).toContain(`<disk name='sda' snapshot='no'/>`);
    const p = parseSnapshotXml(xml);
    expect(p).toMatchObject({
      name: 's1',
      kind: 'external',
      memory: true,
      overlays: ['/p/web.s1.vda.qcow2'],
    });
  });

  it('external disk-only: memory snapshot=no', () => {
    const xml = buildSnapshotXml({
      name: 'd',
      kind: 'external',
      disks: [{ target: 'vda', overlay: '/p/o' }],
    });
    expect(xml).toContain(`<memory snapshot='no'/>`);
    expect(parseSnapshotXml(xml).memory).toBe(false);
  });
});

describe('parseSnapshotXml', () => {
  const daemonXml = `<domainsnapshot>
  <name>s2</name><description>two</description><state>running</state>
  <parent><name>s1</name></parent><creationTime>1764653827</creationTime>
  <memory snapshot='external' file='/pool/web.s2.mem'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'><driver type='qcow2'/><source file='/pool/web.s2.vda.qcow2'/></disk>
    <disk name='sda' snapshot='no'/>
  </disks>
  <domain type='qemu'><name>web</name><devices>
    <disk type='file' device='disk'><source file='/pool/web.s1.vda.qcow2'/><target dev='vda'/></disk>
    <disk type='file' device='cdrom'><source file='/seeds/web.iso'/><target dev='sda'/></disk>
  </devices></domain>
</domainsnapshot>`;

  it('reads what libvirt says of an external snapshot: its files, state, parent and time', () => {
    expect(parseSnapshotXml(daemonXml)).toEqual({
      name: 's2',
      description: 'two',
      state: 'running',
      parent: 's1',
      creationTime: 1764653827,
      kind: 'external',
      memory: true,
      memoryFile: '/pool/web.s2.mem',
      overlays: ['/pool/web.s2.vda.qcow2'],
      domainDisks: ['/pool/web.s1.vda.qcow2', '/seeds/web.iso'],
    });
  });

  it('an internal snapshot of a running VM holds its memory; of a shut-off one, not', () => {
    const internal = (state: string) =>
      parseSnapshotXml(
        `<domainsnapshot><name>i</name><state>${state}</state><memory snapshot='internal'/></domainsnapshot>`,
      );
    expect(internal('running')).toMatchObject({
      kind: 'internal',
      memory: true,
      memoryFile: undefined,
      overlays: [],
    });
    expect(internal('shutoff').memory).toBe(false);
  });

  it('a sparse description from a hand-made snapshot: everything optional', () => {
    expect(parseSnapshotXml('<domainsnapshot><name>x</name></domainsnapshot>')).toMatchObject({
      name: 'x',
      parent: undefined,
      creationTime: undefined,
      domainDisks: [],
    });
  });
});
