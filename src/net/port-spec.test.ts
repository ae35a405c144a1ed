import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { checkForwardCount, formatPortForward, forwardsOverlap, parsePortForward } from './port-spec.js';

describe('parsePortForward', () => {
  it.each([
    ['8080:80', { proto: 'tcp', address: '127.0.0.1', hostStart: 8080, hostEnd: 8080, guestStart: 80 }],
    [
      '127.0.0.1:2222:22',
      { proto: 'tcp', address: '127.0.0.1', hostStart: 2222, hostEnd: 2222, guestStart: 22 },
    ],
    [
      '0.0.0.0:8443:443/tcp',
      { proto: 'tcp', address: '0.0.0.0', hostStart: 8443, hostEnd: 8443, guestStart: 443 },
    ],
    ['5353:53/udp', { proto: 'udp', address: '127.0.0.1', hostStart: 5353, hostEnd: 5353, guestStart: 53 }],
    [
      '8000-8010:9000-9010',
      { proto: 'tcp', address: '127.0.0.1', hostStart: 8000, hostEnd: 8010, guestStart: 9000 },
    ],
    ['[::1]:8080:80/UDP', { proto: 'udp', address: '::1', hostStart: 8080, hostEnd: 8080, guestStart: 80 }],
  ])('%s', (text, expected) => {
    expect(parsePortForward(text)).toEqual(expected);
  });

  it.each([
    ['80', /expected HOST:GUEST/],
    ['8080:80/sctp', /protocol 'sctp'/],
    ['0:80', /outside 1–65535/],
    ['70000:80', /outside 1–65535/],
    ['8080:http', /not a port number/],
    ['8000-8010:80', /same length/],
    ['8010-8000:8010-8000', /ends before it starts/],
    ['300.1.1.1:80:80', /not an IPv4 address/],
    ['[nope]:80:80', /not an IPv6 address/],
    ['a:b:c:d', /expected HOST:GUEST/],
  ])('refuses %s', (text, message) => {
    const err = (() => {
      try {
        parsePortForward(text);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message).toMatch(message);
    expect((err as UsageError).hint).toMatch(/HOST:GUEST/);
  });

  it('formats back to a spec that parses to the same forward', () => {
    for (const t of ['8080:80', '[::1]:8080:80/udp', '8000-8010:9000-9010']) {
      const f = parsePortForward(t);
      expect(parsePortForward(formatPortForward(f))).toEqual(f);
    }
  });
});

describe('forwardsOverlap', () => {
  const f = parsePortForward;
  it('sees shared host ports of the same protocol, wildcards included', () => {
    expect(forwardsOverlap(f('8080:80'), f('8080:81'))).toBe(true);
    expect(forwardsOverlap(f('8000-8010:8000-8010'), f('8005:80'))).toBe(true);
    expect(forwardsOverlap(f('0.0.0.0:8080:80'), f('127.0.0.1:8080:80'))).toBe(true);
    expect(forwardsOverlap(f('8080:80'), f('8080:80/udp'))).toBe(false);
    expect(forwardsOverlap(f('8080:80'), f('8081:80'))).toBe(false);
    expect(forwardsOverlap(f('127.0.0.2:8080:80'), f('127.0.0.1:8080:80'))).toBe(false);
  });
});

describe('hostile port specs', () => {
  it('refuses a range of more than 1024 ports, and takes one of 1024', () => {
    expect(() => parsePortForward('20000-29999:20000-29999')).toThrow(/spans 10000 ports: at most 1024/);
    expect(parsePortForward('20000-21023:20000-21023').hostEnd).toBe(21023);
  });
  it.each([
    ['8080\n:80', /'8080\\u\{a\}:80'/],
    ['8080:80\u202e', /'8080:80\\u\{202e\}'/],
    ['x'.repeat(5000), /at most 100 characters/],
    ['8080:80;id', /'80;id' is not a port number/],
  ])('refuses %j with a one-line message', (spec, message) => {
    let err: Error | undefined;
    try {
      parsePortForward(spec);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toMatch(/[\n\u202e]/);
    expect(err!.message.length).toBeLessThan(250);
  });
  it('caps the forwards of one request at 64', () => {
    expect(() => checkForwardCount(Array(64).fill('8080:80'))).not.toThrow();
    expect(() => checkForwardCount(Array(10_000).fill('8080:80'))).toThrow(
      /10000 port forwards given: at most 64/,
    );
  });
});
