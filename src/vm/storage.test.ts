import { describe, expect, it } from 'vitest';
import { poolDir, poolXml } from './storage.js';

describe('poolDir', () => {
  it('reads back the directory of the pool roost defines, escaped characters and all', () => {
    for (const dir of ['/home/me/.local/share/roost/pool', "/srv/a & b/it's <odd>"]) {
      expect(poolDir(poolXml(dir))).toBe(dir);
    }
  });

  it("reads libvirt's own layout of a dir pool", () => {
    const xml = `<pool type='dir'>
  <name>roost</name>
  <uuid>5f3e4c1a-0b7e-4a52-9d1e-2f4b8a6c7d90</uuid>
  <capacity unit='bytes'>105089261568</capacity>
  <source>
  </source>
  <target>
    <path>/var/lib/roost-test/.local/share/roost/pool</path>
    <permissions>
      <mode>0700</mode>
      <owner>995</owner>
      <group>995</group>
    </permissions>
  </target>
</pool>
`;
    expect(poolDir(xml)).toBe('/var/lib/roost-test/.local/share/roost/pool');
  });

  it('refuses a pool without a target path', () => {
    expect(() => poolDir("<pool type='dir'><name>roost</name></pool>")).toThrow(/no target path/);
  });
});
