import { describe, expect, it } from 'vitest';
import {
  domainInterface,
  formatUuid,
  networkDhcpLease,
  nonnullDomain,
  nonnullDomainSnapshot,
  nonnullNetwork,
  nonnullStoragePool,
  nonnullStorageVol,
  optDomain,
  parseUuid,
  remoteError,
  typedParam,
} from './types.js';
import { type Codec, decode, encode } from './xdr/index.js';

const uuid = parseUuid('8f0e6b8c-3b2a-4c1d-9e8f-0123456789ab');
const dom = { name: 'vm1', uuid, id: 3 };

function roundTrip<T>(codec: Codec<T>, value: T): Buffer {
  const bytes = encode(codec, value);
  expect(decode(codec, bytes)).toEqual(value);
  return bytes;
}

describe('libvirt structures', () => {
  it('nonnull_domain is name, 16 raw uuid bytes, id', () => {
    const bytes = roundTrip(nonnullDomain, dom);
    expect(bytes.length).toBe(4 + 4 + 16 + 4);
    expect(bytes.subarray(8, 24)).toEqual(uuid);
    expect(bytes.readInt32BE(24)).toBe(3);
    roundTrip(nonnullDomain, { ...dom, id: -1 });
  });

  it('round-trips the other handles', () => {
    roundTrip(nonnullNetwork, { name: 'default', uuid });
    roundTrip(nonnullStoragePool, { name: 'images', uuid });
    roundTrip(nonnullStorageVol, { pool: 'images', name: 'a.qcow2', key: '/home/u/a.qcow2' });
    roundTrip(nonnullDomainSnapshot, { name: 'snap1', dom });
    roundTrip(optDomain, null);
    roundTrip(optDomain, dom);
  });

  it('round-trips remote_error with and without optional parts', () => {
    const base = {
      code: 42,
      domain: 10,
      message: "Domain not found: no domain with matching name 'x'",
      level: 2,
      dom: null,
      str1: 'Domain not found',
      str2: null,
      str3: null,
      int1: -1,
      int2: -1,
      net: null,
    };
    roundTrip(remoteError, base);
    roundTrip(remoteError, { ...base, message: null, dom, net: { name: 'default', uuid } });
  });

  it('round-trips every typed param arm', () => {
    const values = [
      { type: 1, value: -1 },
      { type: 2, value: 7 },
      { type: 3, value: -5n },
      { type: 4, value: 5n },
      { type: 5, value: 0.5 },
      { type: 6, value: 1 },
      { type: 7, value: 'text' },
    ] as const;
    for (const value of values) roundTrip(typedParam, { field: 'f', value });
  });

  it('round-trips interface addresses and DHCP leases', () => {
    roundTrip(domainInterface, {
      name: 'vnet0',
      hwaddr: '52:54:00:12:34:56',
      addrs: [
        { type: 0, addr: '192.168.122.10', prefix: 24 },
        { type: 1, addr: 'fe80::1', prefix: 64 },
      ],
    });
    roundTrip(domainInterface, { name: 'lo', hwaddr: null, addrs: [] });
    roundTrip(networkDhcpLease, {
      iface: 'virbr0',
      expirytime: 1700000000n,
      type: 0,
      mac: '52:54:00:12:34:56',
      iaid: null,
      ipaddr: '192.168.122.10',
      prefix: 24,
      hostname: 'guest',
      clientid: null,
    });
  });

  it('formats and parses UUIDs', () => {
    expect(formatUuid(uuid)).toBe('8f0e6b8c-3b2a-4c1d-9e8f-0123456789ab');
    expect(() => parseUuid('nope')).toThrow(TypeError);
  });
});
