import { describe, expect, it } from 'vitest';
import { hasInterface, interfaceXml, interfaceXmlForAttach } from './nic-xml.js';

const live = `<domain type='qemu' id='3'>
  <name>web</name>
  <devices>
    <interface type='bridge'>
      <mac address='52:54:00:00:00:01'/>
      <source bridge='virbr0'/>
      <alias name='net0'/>
    </interface>
    <interface type='user'>
      <mac address='52:54:00:AB:CD:EF'/>
      <portForward proto='tcp' address='127.0.0.1'>
        <range start='8080' to='80'/>
      </portForward>
      <model type='virtio'/>
      <backend type='passt'/>
      <alias name='net1'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </interface>
  </devices>
</domain>`;

describe('NIC XML for device calls', () => {
  it('cuts out the NIC by MAC, case-insensitively, with everything in it', () => {
    const x = interfaceXml(live, '52:54:00:ab:cd:ef');
    expect(x).toMatch(/^<interface type="user">/);
    expect(x).toContain('<range start="8080" to="80"/>');
    expect(x).toContain('<alias name="net1"/>');
    expect(x).toContain('bus="0x01"');
    expect(x).not.toContain('virbr0');
  });
  it('drops the daemon-given alias for attach but keeps MAC and PCI address', () => {
    const x = interfaceXmlForAttach(live, '52:54:00:ab:cd:ef');
    expect(x).not.toContain('alias');
    expect(x).toContain('52:54:00:AB:CD:EF');
    expect(x).toContain('<address type="pci" domain="0x0000" bus="0x01" slot="0x00" function="0x0"/>');
  });
  it('keeps a user alias (ua-…), which the user chose', () => {
    const x = interfaceXmlForAttach(live.replace("name='net1'", "name='ua-mine'"), '52:54:00:ab:cd:ef');
    expect(x).toContain('ua-mine');
  });
  it('tells whether the NIC is still there', () => {
    expect(hasInterface(live, '52:54:00:00:00:01')).toBe(true);
    expect(hasInterface(live, '52:54:00:00:00:02')).toBe(false);
    expect(() => interfaceXml(live, '52:54:00:00:00:02')).toThrow(/no NIC with MAC address/);
  });
});
