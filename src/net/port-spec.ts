// Port forward specifications as users type them: `[ADDR:]HOST:GUEST[/tcp|udp]`, where HOST and GUEST may be
// equal-length ranges (`8000-8010:8000-8010`) and ADDR may be an IPv4 address or a bracketed IPv6 one.
// roost listens on 127.0.0.1 unless an address is given: a forwarded port is then reachable only from this host.
import { ipVersion } from '../ip-literal.js';
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

/** The most ports one forward spans: passt binds each, and a bigger range is a typo or an attack. */
export const MAX_FORWARD_RANGE = 1024;
/** No spec is longer (`[ffff:…]:65535-65535:65535-65535/tcp` is 65). */
const MAX_SPEC_LENGTH = 100;

/** The spec as typed, for a message: anything but printable ASCII escaped, so the message stays one line. */
function shown(text: string): string {
  const cut = text.length > MAX_SPEC_LENGTH ? `${text.slice(0, MAX_SPEC_LENGTH)}…` : text;
  return cut.replace(/[^\x20-\x7e…]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

function bad(text: string, why: string): UsageError {
  return new UsageError('INVALID_PORT', `invalid port forward '${shown(text)}': ${why}`, {
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
  if (end - start >= MAX_FORWARD_RANGE) {
    throw bad(
      whole,
      `range ${text} spans ${end - start + 1} ports: at most ${MAX_FORWARD_RANGE} per forward`,
    );
  }
  return [start, end];
}

export function parsePortForward(text: string): PortForward {
  if (text.length > MAX_SPEC_LENGTH)
    throw bad(text, `a port forward is at most ${MAX_SPEC_LENGTH} characters`);
  if (!/^[\x21-\x7e]*$/.test(text.trim())) throw bad(text, 'it may hold only digits, addresses, : - / [ ]');
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
export function dialAddress(f: Pick<PortForward, 'address'>): string {
  return f.address === '0.0.0.0' ? '127.0.0.1' : f.address === '::' ? '::1' : f.address;
}

/** The most forwards one request (create, port add, the API) may give: the API's limit too. */
export const MAX_FORWARDS_PER_REQUEST = 64;

export function checkForwardCount(specs: readonly string[]): void {
  if (specs.length > MAX_FORWARDS_PER_REQUEST) {
    throw new UsageError(
      'INVALID_PORT',
      `${specs.length} port forwards given: at most ${MAX_FORWARDS_PER_REQUEST} at once`,
      { hint: `forward a range instead, e.g. 8000-8099:8000-8099 (up to ${MAX_FORWARD_RANGE} ports)` },
    );
  }
}
