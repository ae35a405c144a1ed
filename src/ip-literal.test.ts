import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipVersion } from './ip-literal.js';

const CASES = [
  // IPv4
  '0.0.0.0',
  '127.0.0.1',
  '255.255.255.255',
  '192.0.2.1',
  '256.0.0.1',
  '1.2.3',
  '1.2.3.4.5',
  '01.2.3.4',
  '1.2.3.04',
  '1..3.4',
  '1.2.3.4 ',
  ' 1.2.3.4',
  '1.2.3.-4',
  '1.2.3.4/24',
  '',
  '.',
  '1.2.3.4.',
  '999.1.1.1',
  '100.200.250.255',
  '1e1.2.3.4',
  '0x1.2.3.4',
  // IPv6
  '::',
  '::1',
  '1::',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  ':::',
  '1:::2',
  '1::2::3',
  ':1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:',
  'fe80::1',
  'FE80::ABCD',
  'fe80::1%eth0',
  'fe80::1%',
  'fe80::1%et h0',
  'fe80::1%a.b:c-d',
  '::ffff:192.0.2.1',
  '::ffff:192.0.2.256',
  '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5:6:7:1.2.3.4',
  '1.2.3.4::',
  '::1.2.3.4',
  '1:2:3:4:5::1.2.3.4',
  '1:2:3:4:5:6::1.2.3.4',
  '12345::',
  'g::1',
  '1:2:3:4:5:6:7:8%1',
  '[::1]',
  '::1.2.3.04',
  '2001:db8::1.2.3.4:5',
  '2001:db8:0:0:0:0:2:1',
  '2001:0db8::0001',
  '00000::1',
  'localhost',
  '1:2:3:4:5:6:7:8:',
  '::%1',
  '%1',
  '1.2.3.4%1',
];

describe('ipVersion', () => {
  it.each(CASES)('%j as net.isIP says', (text) => {
    expect(ipVersion(text)).toBe(isIP(text));
  });

  it('agrees with net.isIP on random strings of address characters', () => {
    // A fixed-seed generator: a failure names its input and stays reproducible.
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = '0123456789abcdefABCDEF:::...%g';
    for (let i = 0; i < 20_000; i++) {
      let s = '';
      const length = Math.floor(next() * 24);
      for (let j = 0; j < length; j++) s += alphabet[Math.floor(next() * alphabet.length)];
      expect([s, ipVersion(s)]).toEqual([s, isIP(s)]);
    }
  });

  it('agrees with net.isIP on random well-formed and near-miss addresses', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const group = () =>
      Math.floor(next() * 0x10000)
        .toString(16)
        .slice(0, 1 + Math.floor(next() * 5));
    const octet = () => String(Math.floor(next() * 300));
    for (let i = 0; i < 20_000; i++) {
      const groups = Array.from({ length: 1 + Math.floor(next() * 9) }, group);
      if (next() < 0.3) groups.push([octet(), octet(), octet(), octet()].join('.'));
      if (next() < 0.5) groups.splice(Math.floor(next() * (groups.length + 1)), 0, '');
      let s = groups.join(':');
      if (next() < 0.1) s += '%eth' + Math.floor(next() * 3);
      expect([s, ipVersion(s)]).toEqual([s, isIP(s)]);
    }
  });
});
