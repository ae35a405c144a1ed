// A domain defined by hand with `virsh define` — full of elements roost does not model — shows in `roost ls`
// and `roost info`, and `roost edit` changes what was asked while keeping everything else as it was.
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseXml } from '../../src/domain-xml/xml.js';
import { createScope, harness, roost, roostJson, runAs, virsh } from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('handmade', user, uri);
afterAll(() => scope.cleanup());

const name = scope.name('vm');
const xml = `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>${name}</name>
  <title>made by hand</title>
  <description>a domain roost did not create</description>
  <metadata>
    <app:settings xmlns:app="http://example.com/app/1"><app:color>teal</app:color></app:settings>
  </metadata>
  <memory unit='KiB'>262144</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/><apic/></features>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/></clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>
  <devices>
    <!-- a comment roost must keep -->
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <interface type='user'><backend type='passt'/><model type='virtio'/>
      <portForward proto='tcp'><range start='18765' to='80'/></portForward>
    </interface>
  </devices>
  <qemu:commandline><qemu:arg value='-no-user-config'/></qemu:commandline>
</domain>
`;

/** The parts of a domain XML that roost must not touch, as comparable text. */
function untouched(domainXml: string): string[] {
  const root = parseXml(domainXml).root;
  const keep = [
    'title',
    'description',
    'metadata',
    'features',
    'clock',
    'pm',
    'on_crash',
    'qemu:commandline',
  ];
  const pick = (el: typeof root, wanted: string[]): string[] =>
    el.children.flatMap((c) => ('name' in c && wanted.includes(c.name) ? [JSON.stringify(c)] : []));
  const devices = root.children.find((c) => 'name' in c && c.name === 'devices') as typeof root;
  return [...pick(root, keep), ...pick(devices, ['rng', 'interface'])];
}

describe('a hand-made domain', () => {
  it('shows in roost ls and roost info as not roost-made, with its forward', async () => {
    const file = join(scope.dir, 'domain.xml');
    writeFileSync(file, xml);
    chmodSync(file, 0o644);
    await runAs(user, 'virsh', ['-c', 'qemu:///session', 'define', file]);
    const ls = await roostJson<{ name: string; managedBy: string; ports: string[]; state: string }[]>(user, [
      'ls',
    ]);
    expect(ls.find((v) => v.name === name)).toMatchObject({
      managedBy: 'other',
      state: 'shutoff',
      ports: ['0.0.0.0:18765:80/tcp'],
    });
    const info = await roost(user, ['info', name]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/not created by roost/);
    expect(info.stdout).toMatch(/memory:\s+256 MiB/);
  });

  it('keeps every element roost does not model through roost edit', async () => {
    const before = (await virsh(uri, ['dumpxml', '--inactive', name])).stdout;
    const r = await roost(user, ['edit', name, '--cpus', '2', '--memory', '300M']);
    expect(r.code, r.stderr).toBe(0);
    const after = (await virsh(uri, ['dumpxml', '--inactive', name])).stdout;
    expect(untouched(after)).toEqual(untouched(before));
    expect(after).toContain('<app:color>teal</app:color>');
    expect(after).toMatch(/<vcpu placement='static'>2<\/vcpu>/);
    expect(after).toMatch(/<memory unit='KiB'>307200<\/memory>/);
    const info = await roostJson<{ cpus: number; memoryMiB: number }>(user, ['info', name]);
    expect(info).toMatchObject({ cpus: 2, memoryMiB: 300 });
  });

  it('refuses an edit with nothing to change, changing nothing', async () => {
    const before = (await virsh(uri, ['dumpxml', '--inactive', name])).stdout;
    const r = await roost(user, ['edit', name]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing to change/);
    expect((await virsh(uri, ['dumpxml', '--inactive', name])).stdout).toBe(before);
  });
});
