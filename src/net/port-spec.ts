// Port forward specifications as users type them: `[ADDR:]HOST:GUEST[/tcp|udp]`, where HOST and GUEST may be
// equal-length ranges (`8000-8010:8000-8010`) and ADDR may be an IPv4 address or a bracketed IPv6 one.
// roost listens on 127.0.0.1 unless an address is given: a forwarded port is then reachable only from this host.
import { ipVersion } from './ip-literal.js';
import { UsageError } from '../errors.js';

export type Proto = 'tcp' | 'udp';

export interface PortForward {
  proto: Proto;
  /** Host address passt listens on. */
  address: string;
  hostStart: number;
  /** Last host port of a range; equal to hostStart for a single port. */
  hostEnd: number;
  /** Guest port that hostStart maps to; the range maps one to one. */
  guestStart: number;
}

export const DEFAULT_FORWARD_ADDRESS = '127.0.0.1';

function bad(text: string, why: string): UsageError {
  return new UsageError('INVALID_PORT', `invalid port forward '${text}': ${why}`, {
    hint: 'use [ADDR:]HOST:GUEST[/tcp|udp], e.g. 8080:80, 127.0.0.1:2222:22, 5353:53/udp or 8000-8010:8000-8010',
  });
}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw bad(whole, `'${text}' is not a port number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw bad(whole, `port ${n} is outside 1–65535`);
  return n;
}

function parseRange(text: string, whole: string): [number, number] {
  const [a, b, ...rest] = text.split('-');
  if (rest.length || a === undefined) throw bad(whole, `'${text}' is not a port or a range`);
  const start = parsePort(a, whole);
  const end = b === undefined ? start : parsePort(b, whole);
  if (end < start) throw bad(whole, `range ${text} ends before it starts`);
  return [start, end];
}

export function parsePortForward(text: string): PortForward {
  let rest = text.trim();
  let proto: Proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp') throw bad(text, `protocol '${p}' is neither tcp nor udp`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  let address = DEFAULT_FORWARD_ADDRESS;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close < 0) throw bad(text, 'an IPv6 address must be written [ADDR]:HOST:GUEST');
    address = rest.slice(1, close);
    if (ipVersion(address) !== 6) throw bad(text, `'${address}' is not an IPv6 address`);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  if (parts.length === 3) {
    address = parts.shift()!;
    if (ipVersion(address) !== 4)
      throw bad(text, `'${address}' is not an IPv4 address (write IPv6 as [ADDR])`);
  }
  if (parts.length !== 2) throw bad(text, 'expected HOST:GUEST');
  const [hostStart, hostEnd] = parseRange(parts[0]!, text);
  const [guestStart, guestEnd] = parseRange(parts[1]!, text);
  if (guestEnd - guestStart !== hostEnd - hostStart) {
    throw bad(text, 'host and guest ranges must have the same length');
  }
  return { proto, address, hostStart, hostEnd, guestStart };
}

export function formatPortForward(f: PortForward): string {
  const host = f.hostEnd === f.hostStart ? `${f.hostStart}` : `${f.hostStart}-${f.hostEnd}`;
  const guestEnd = f.guestStart + (f.hostEnd - f.hostStart);
  const guest = guestEnd === f.guestStart ? `${f.guestStart}` : `${f.guestStart}-${guestEnd}`;
  const addr = f.address.includes(':') ? `[${f.address}]` : f.address;
  return `${addr}:${host}:${guest}/${f.proto}`;
}

/** True when two forwards would listen on a common host port of the same protocol. */
export function forwardsOverlap(a: PortForward, b: PortForward): boolean {
  if (a.proto !== b.proto) return false;
  const sameAddr = a.address === b.address || isWildcard(a.address) || isWildcard(b.address);
  return sameAddr && a.hostStart <= b.hostEnd && b.hostStart <= a.hostEnd;
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Where this host connects to reach a forward: its own address, or loopback for a wildcard listen. */
export function dialAddress(f: PortForward): string {
  return f.address === '0.0.0.0' ? '127.0.0.1' : f.address === '::' ? '::1' : f.address;
}
