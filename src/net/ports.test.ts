import { describe, expect, it } from 'vitest';
import type { PortForwardSpec } from '../domain-xml/spec.js';
import { parsePortForward } from './port-spec.js';
import {
  exposesToNetwork,
  exposureWarning,
  fromPortForwardSpec,
  parsePortPattern,
  planAdd,
  planRemove,
  sameForwardSet,
  toPortForwardSpec,
} from './ports.js';

const http: PortForwardSpec = { proto: 'tcp', address: '127.0.0.1', hostStart: 8080, guestStart: 80 };
// A hand-made forward with no address attribute: passt listens on every address; must survive edits as is.
const handmade: PortForwardSpec = { proto: 'udp', address: '', hostStart: 5353, guestStart: 53 };

describe('spec conversions', () => {
  it('round-trips single ports and ranges', () => {
    for (const text of ['8080:80', '127.0.0.1:8000-8010:9000-9010/udp', '[::1]:2222:22']) {
      const f = parsePortForward(text);
      expect(fromPortForwardSpec(toPortForwardSpec(f))).toEqual(f);
    }
    expect(toPortForwardSpec(parsePortForward('8080:80'))).toEqual(http);
  });
  it('reads a missing or empty address the way passt does', () => {
    expect(fromPortForwardSpec({ ...http, address: undefined }).address).toBe('127.0.0.1');
    expect(fromPortForwardSpec(handmade).address).toBe('0.0.0.0');
  });
});

describe('planAdd', () => {
  it('appends new forwards and keeps the existing ones untouched', () => {
    const plan = planAdd(
      [http, handmade],
      [parsePortForward('7007:7/udp'), parsePortForward('9000-9002:90-92')],
    );
    expect(plan.next.slice(0, 2)).toEqual([http, handmade]);
    expect(plan.next.slice(2)).toEqual([
      { proto: 'udp', address: '127.0.0.1', hostStart: 7007, guestStart: 7 },
      { proto: 'tcp', address: '127.0.0.1', hostStart: 9000, hostEnd: 9002, guestStart: 90 },
    ]);
    expect(plan.added).toHaveLength(2);
  });
  it('does not add a forward that is already there', () => {
    const plan = planAdd([http], [parsePortForward('127.0.0.1:8080:80/tcp'), parsePortForward('8080:80')]);
    expect(plan.added).toEqual([]);
    expect(plan.next).toEqual([http]);
    // …and says so, once.
    expect(plan.already).toEqual([parsePortForward('8080:80')]);
    expect(planAdd([http], [parsePortForward('8081:80')]).already).toEqual([]);
  });
  it('refuses a forward overlapping one of the same VM', () => {
    expect(() => planAdd([http], [parsePortForward('8080:8080')])).toThrow(/overlaps this VM's forward/);
    expect(() => planAdd([handmade], [parsePortForward('127.0.0.1:5353:5353/udp')])).toThrow(/overlaps/);
    expect(() => planAdd([], [parsePortForward('9000-9005:9000-9005'), parsePortForward('9005:1')])).toThrow(
      /overlaps/,
    );
  });
  it('allows the same port for the other protocol', () => {
    expect(planAdd([http], [parsePortForward('8080:80/udp')]).added).toHaveLength(1);
  });
});

describe('planRemove and patterns', () => {
  it('removes by full spec, by host port and by host port and protocol', () => {
    const range: PortForwardSpec = {
      proto: 'tcp',
      address: '127.0.0.1',
      hostStart: 8000,
      hostEnd: 8010,
      guestStart: 8000,
    };
    const list = [http, handmade, range];
    expect(planRemove(list, [parsePortPattern('8080:80')]).next).toEqual([handmade, range]);
    expect(planRemove(list, [parsePortPattern('8080')]).next).toEqual([handmade, range]);
    expect(planRemove(list, [parsePortPattern('5353/udp')]).next).toEqual([http, range]);
    expect(planRemove(list, [parsePortPattern('8000-8010')]).removed.map((f) => f.hostEnd)).toEqual([8010]);
    expect(planRemove(list, [parsePortPattern('0.0.0.0:5353:53/udp')]).next).toEqual([http, range]);
  });
  it('refuses a pattern that matches nothing, naming what there is', () => {
    expect(() => planRemove([http], [parsePortPattern('8081')])).toThrow(
      /no forward matches '8081'.*8080:80/,
    );
    expect(() => planRemove([http], [parsePortPattern('8080/udp')])).toThrow(/no forward matches/);
    expect(() => planRemove([http], [parsePortPattern('8080:81')])).toThrow(/no forward matches/);
  });
  it('rejects bad patterns like bad specs', () => {
    expect(() => parsePortPattern('80x')).toThrow(/invalid port forward/);
    expect(() => parsePortPattern('70000')).toThrow(/outside/);
  });
  it('names the port as typed, not a spec made from it (port rm NAME 0)', () => {
    for (const [text, why] of [
      ['0', "invalid port '0': port 0 is outside 1–65535"],
      ['0/udp', "invalid port '0/udp': port 0 is outside 1–65535"],
      ['8010-8000', "invalid port '8010-8000': the range ends before it starts"],
      ['1234567', "invalid port '1234567': port 1234567 is outside 1–65535"],
    ]) {
      expect(() => parsePortPattern(text!)).toThrow(why);
      expect(() => parsePortPattern(text!)).toThrow(
        expect.objectContaining({ code: 'INVALID_PORT', exitCode: 2 }),
      );
    }
  });
});

describe('sameForwardSet and exposure', () => {
  it('compares lists by meaning, in any order', () => {
    expect(sameForwardSet([http, handmade], [handmade, { ...http, address: undefined }])).toBe(true);
    expect(sameForwardSet([http], [http, handmade])).toBe(false);
  });
  it('flags 0.0.0.0 and :: as exposed to the network', () => {
    expect(exposesToNetwork(parsePortForward('0.0.0.0:8443:443'))).toBe(true);
    expect(exposesToNetwork(parsePortForward('[::]:8443:443'))).toBe(true);
    expect(exposesToNetwork(parsePortForward('8443:443'))).toBe(false);
    expect(exposureWarning(parsePortForward('0.0.0.0:8443:443'))).toMatch(/other machines on the network/);
  });
});
