import { describe, expect, it } from 'vitest';
import {
  addressKey,
  addressProblem,
  fromLibvirtInterfaces,
  isUsableAddress,
  leasesFor,
  parseAgentInterfaces,
  parseDnsmasqLeases,
  parseLeaseFile,
  parseLibvirtStatus,
  parseProcNetArp,
  runChain,
  type FoundAddress,
} from './ip-sources.js';

const MAC = '52:54:00:12:34:56';

describe('/proc/net/arp', () => {
  const text = [
    'IP address       HW type     Flags       HW address            Mask     Device',
    '10.213.7.23      0x1         0x2         52:54:00:12:34:56     *        roostbr0',
    '10.213.7.24      0x1         0x0         00:00:00:00:00:00     *        roostbr0',
    '10.213.7.25      0x1         0x0         52:54:00:aa:aa:aa     *        roostbr0',
    '192.168.1.1      0x1         0x6         AA:BB:CC:DD:EE:FF     *        eth0',
    '',
  ].join('\n');
  it('keeps complete entries, lower-cases MACs, skips incomplete and zero ones', () => {
    expect(parseProcNetArp(text)).toEqual([
      { ip: '10.213.7.23', mac: MAC, device: 'roostbr0' },
      { ip: '192.168.1.1', mac: 'aa:bb:cc:dd:ee:ff', device: 'eth0' },
    ]);
  });
  it('survives an empty file, a header only and garbage', () => {
    expect(parseProcNetArp('')).toEqual([]);
    expect(parseProcNetArp(text.split('\n')[0]!)).toEqual([]);
    expect(parseProcNetArp('x\nnot an arp line\n1.2.3.4 0x1 0x2 zz:zz *\n')).toEqual([]);
  });
});

describe('dnsmasq lease files', () => {
  const leases = [
    '1732620000 52:54:00:12:34:56 10.213.7.23 roost-tiny 01:52:54:00:12:34:56',
    '0 52:54:00:ab:cd:ef 10.213.7.40 * *',
    'duid 00:01:00:01:2c:aa:bb:cc:52:54:00:12:34:56',
    '1732620000 1234 fd00::23 roost-tiny 00:01:00:01',
    'garbage',
  ].join('\n');
  it('reads IPv4 leases and skips DHCPv6 ones (no MAC to match)', () => {
    expect(parseDnsmasqLeases(leases)).toEqual([
      { ip: '10.213.7.23', mac: MAC, hostname: 'roost-tiny', expiry: 1732620000 },
      { ip: '10.213.7.40', mac: '52:54:00:ab:cd:ef', expiry: 0 },
    ]);
  });
  it("reads libvirt's .status JSON", () => {
    const status = JSON.stringify([
      {
        'ip-address': '192.168.122.50',
        'mac-address': '52:54:00:12:34:56',
        hostname: 'web',
        'expiry-time': 1732620000,
      },
      { 'ip-address': 'nonsense', 'mac-address': MAC },
      { 'mac-address': MAC },
    ]);
    expect(parseLibvirtStatus(status)).toEqual([
      { ip: '192.168.122.50', mac: MAC, hostname: 'web', expiry: 1732620000 },
    ]);
    expect(parseLibvirtStatus('')).toEqual([]);
    expect(parseLibvirtStatus('{not json')).toEqual([]);
    expect(parseLeaseFile(status)[0]!.ip).toBe('192.168.122.50');
    expect(parseLeaseFile(leases)[0]!.ip).toBe('10.213.7.23');
  });
  it('drops expired leases and prefers the one that lasts longest', () => {
    const list = [
      { ip: '10.0.0.1', mac: MAC, expiry: 100 },
      { ip: '10.0.0.2', mac: MAC, expiry: 300 },
      { ip: '10.0.0.3', mac: MAC, expiry: 0 },
      { ip: '10.0.0.4', mac: '52:54:00:00:00:00', expiry: 0 },
    ];
    expect(leasesFor(list, MAC.toUpperCase(), 200).map((l) => l.ip)).toEqual(['10.0.0.3', '10.0.0.2']);
  });
});

describe('guest agent answers', () => {
  const reply = JSON.stringify({
    return: [
      {
        name: 'lo',
        'hardware-address': '00:00:00:00:00:00',
        'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 }],
      },
      {
        name: 'enp1s0',
        'hardware-address': '52:54:00:12:34:56',
        'ip-addresses': [
          { 'ip-address-type': 'ipv4', 'ip-address': '10.213.7.23', prefix: 24 },
          { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::5054:ff:fe12:3456', prefix: 64 },
          { 'ip-address-type': 'ipv4' },
        ],
        statistics: { 'rx-bytes': 1 },
      },
      { name: 'dummy0' },
      { 'hardware-address': 'x' },
    ],
  });
  it('reads interfaces, MACs and addresses; tolerates missing parts', () => {
    const ifs = parseAgentInterfaces(reply);
    expect(ifs.map((i) => i.name)).toEqual(['lo', 'enp1s0', 'dummy0']);
    expect(ifs[1]).toEqual({
      name: 'enp1s0',
      mac: MAC,
      addresses: [
        { ip: '10.213.7.23', family: 'ipv4', prefix: 24 },
        { ip: 'fe80::5054:ff:fe12:3456', family: 'ipv6', prefix: 64 },
      ],
    });
    expect(ifs[2]).toEqual({ name: 'dummy0', mac: undefined, addresses: [] });
  });
  it('gives nothing for an error reply or non-JSON', () => {
    expect(parseAgentInterfaces('{"error":{"class":"CommandNotFound"}}')).toEqual([]);
    expect(parseAgentInterfaces('')).toEqual([]);
    expect(parseAgentInterfaces('null')).toEqual([]);
  });
  it("maps libvirt's interface addresses by MAC and drops link-local ones", () => {
    const found = fromLibvirtInterfaces(
      [
        {
          name: 'vnet0',
          hwaddr: '52:54:00:12:34:56',
          addrs: [
            { type: 0, addr: '10.0.0.9', prefix: 24 },
            { type: 1, addr: 'fe80::1', prefix: 64 },
          ],
        },
        { name: 'vnet1', hwaddr: null, addrs: [{ type: 0, addr: '10.0.0.10', prefix: 24 }] },
      ],
      MAC,
      'libvirt-arp',
    );
    expect(found).toEqual([
      { ip: '10.0.0.9', family: 'ipv4', prefix: 24, mac: MAC, source: 'libvirt-arp', where: 'vnet0' },
    ]);
  });
  it('leaves out the prefix the ARP source does not know (libvirt says 0): no "/0" in roost ip', () => {
    const found = fromLibvirtInterfaces(
      [{ name: 'tap1', hwaddr: MAC, addrs: [{ type: 0, addr: '10.213.9.80', prefix: 0 }] }],
      MAC,
      'libvirt-arp',
    );
    expect(found).toEqual([
      { ip: '10.213.9.80', family: 'ipv4', mac: MAC, source: 'libvirt-arp', where: 'tap1' },
    ]);
  });
  it('knows which addresses are no use from the host', () => {
    expect(isUsableAddress('127.0.0.1')).toBe(false);
    expect(isUsableAddress('169.254.3.4')).toBe(false);
    expect(isUsableAddress('fe80::1')).toBe(false);
    expect(isUsableAddress('10.0.0.1')).toBe(true);
    expect(isUsableAddress('fd00::1')).toBe(true);
  });
  // What a guest agent may answer to send `roost ssh` / `roost ip` somewhere other than the guest.
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:0', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['0:0::0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback (IPv4 inside IPv6)'],
    ['::FFFF:7f00:1', 'loopback (IPv4 inside IPv6)'],
    ['::ffff:0.0.0.0', 'unspecified (IPv4 inside IPv6)'],
    ['::ffff:0:127.0.0.1', 'loopback (IPv4 inside IPv6)'],
    ['64:ff9b::127.0.0.1', 'loopback (IPv4 inside IPv6)'],
    ['::127.0.0.1', 'IPv4-compatible (deprecated)'],
    ['::10.0.0.1', 'IPv4-compatible (deprecated)'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['FF05::1:3', 'multicast'],
    ['255.255.255.255', 'reserved or broadcast'],
    ['240.0.0.1', 'reserved or broadcast'],
    ['169.254.169.254', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local (IPv4 inside IPv6)'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fe80::1%eth0', 'scoped (link-local)'],
    ['not-an-ip', 'not an IP address'],
    ['-oProxyCommand=x', 'not an IP address'],
  ])('refuses %s (%s)', (ip, why) => {
    expect(addressProblem(ip)).toBe(why);
    expect(isUsableAddress(ip)).toBe(false);
  });
  it.each([
    '10.0.0.5',
    '192.168.122.50',
    '192.0.2.15',
    '198.51.100.7',
    '100.64.0.1',
    'fd00::5',
    '2001:db8::5',
    '::ffff:10.0.0.5',
    'fec0::1',
    '2002:7f00:1::1',
  ])('accepts %s', (ip) => expect(addressProblem(ip)).toBeUndefined());
  it('spells an address one way, to compare with the host’s own', () => {
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('fd00::1')).toBe(addressKey('fd00:0:0:0:0:0:0:1'));
    expect(addressKey('fe80::1%eth0')).toBeUndefined();
  });
  it('refuses an agent address runChain is told is the host’s own, and says so', async () => {
    const own = (ip: string) =>
      addressProblem(ip) ?? (addressKey(ip) === '192.0.2.1' ? "the host's own address" : undefined);
    const r = await runChain(
      [
        {
          source: 'agent',
          run: () => Promise.resolve([{ ip: '::ffff:192.0.2.1', family: 'ipv6', mac: MAC, source: 'agent' }]),
        },
      ],
      own,
    );
    expect(r).toEqual({
      addresses: [],
      tried: [
        { source: 'agent', result: 'none', detail: "ignored ::ffff:192.0.2.1 (the host's own address)" },
      ],
    });
  });
  it('keeps an agent prefix only when it is one', () => {
    const reply = (prefix: unknown) =>
      JSON.stringify({
        return: [
          {
            name: 'e',
            'hardware-address': MAC,
            'ip-addresses': [{ 'ip-address': '10.0.0.5', 'ip-address-type': 'ipv4', prefix }],
          },
        ],
      });
    expect(parseAgentInterfaces(reply(24))[0]!.addresses[0]!.prefix).toBe(24);
    for (const bad of [-1, 129, 1.5, 1e308, '24'])
      expect(parseAgentInterfaces(reply(bad))[0]!.addresses[0]!.prefix).toBeUndefined();
  });
});

describe('runChain', () => {
  const addr = (ip: string, source: FoundAddress['source']): FoundAddress => ({
    ip,
    family: ip.includes(':') ? 'ipv6' : 'ipv4',
    mac: MAC,
    source,
  });
  it('stops at the first source with a usable address, recording every attempt', async () => {
    const r = await runChain([
      { source: 'agent', run: () => Promise.resolve('the VM has no guest agent channel') },
      { source: 'libvirt-agent', run: () => Promise.reject(new Error('agent not connected')) },
      { source: 'libvirt-arp', run: () => Promise.resolve([addr('fe80::1', 'libvirt-arp')]) },
      {
        source: 'lease-file',
        run: () => Promise.resolve([addr('fd00::5', 'lease-file'), addr('10.0.0.5', 'lease-file')]),
      },
      { source: 'arp-table', run: () => Promise.reject(new Error('must not be asked')) },
    ]);
    expect(r.addresses.map((a) => a.ip)).toEqual(['10.0.0.5', 'fd00::5']);
    expect(r.tried).toEqual([
      { source: 'agent', result: 'skipped', detail: 'the VM has no guest agent channel' },
      { source: 'libvirt-agent', result: 'error', detail: 'agent not connected' },
      { source: 'libvirt-arp', result: 'none', detail: 'ignored fe80::1 (link-local)' },
      { source: 'lease-file', result: 'found' },
    ]);
  });
  it('returns nothing when no source knows', async () => {
    const r = await runChain([{ source: 'arp-table', run: () => Promise.resolve([]) }]);
    expect(r).toEqual({ addresses: [], tried: [{ source: 'arp-table', result: 'none' }] });
  });
});
