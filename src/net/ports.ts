// Editing a VM's list of port forwards: what `roost port add|rm` compute before anything is written. Pure: the
// list goes in as domain-xml's PortForwardSpec (so forwards roost did not write — no address attribute, i.e.
// every host address — come back out exactly as they were) and the new list comes out.
import type { PortForwardSpec } from '../domain-xml/spec.js';
import { UsageError } from '../errors.js';
import {
  DEFAULT_FORWARD_ADDRESS,
  formatPortForward,
  forwardsOverlap,
  isWildcard,
  parsePortForward,
  type PortForward,
  type Proto,
} from './port-spec.js';

/** The net layer's forward → domain-xml's spelling (hostEnd absent for a single port). */
export function toPortForwardSpec(f: PortForward): PortForwardSpec {
  return {
    proto: f.proto,
    address: f.address,
    hostStart: f.hostStart,
    ...(f.hostEnd === f.hostStart ? {} : { hostEnd: f.hostEnd }),
    guestStart: f.guestStart,
  };
}

/** domain-xml's spelling → the net layer's; no address attribute means passt listens on every host address. */
export function fromPortForwardSpec(p: PortForwardSpec): PortForward {
  const address =
    p.address === undefined ? DEFAULT_FORWARD_ADDRESS : p.address === '' ? '0.0.0.0' : p.address;
  return {
    proto: p.proto,
    address,
    hostStart: p.hostStart,
    hostEnd: p.hostEnd ?? p.hostStart,
    guestStart: p.guestStart,
  };
}

export function sameForward(a: PortForward, b: PortForward): boolean {
  return (
    a.proto === b.proto &&
    a.address === b.address &&
    a.hostStart === b.hostStart &&
    a.hostEnd === b.hostEnd &&
    a.guestStart === b.guestStart
  );
}

/** True when the forward listens on every address of the host (reachable from the network). */
export function exposesToNetwork(f: PortForward): boolean {
  return isWildcard(f.address);
}

/** The warning `port add` / `create` print for a forward on 0.0.0.0 or ::. */
export function exposureWarning(f: PortForward): string {
  return (
    `${formatPortForward(f)} listens on every address of this host: other machines on the network can reach ` +
    `the VM's port ${f.guestStart}; use 127.0.0.1:${f.hostStart}:${f.guestStart} to keep it local`
  );
}

/**
 * What `port rm` accepts: a full spec (`8080:80`, `127.0.0.1:8080:80/tcp`) or just the host side
 * (`8080`, `8080/udp`, `8000-8010`), which matches any forward of that protocol with those host ports.
 */
export interface PortPattern {
  text: string;
  proto: Proto;
  hostStart: number;
  hostEnd: number;
  /** Set for a full spec: address and guest port must match too. */
  full?: PortForward;
}

export function parsePortPattern(text: string): PortPattern {
  const m = /^\s*(\d{1,7})(?:-(\d{1,7}))?(?:\/(tcp|udp))?\s*$/i.exec(text);
  if (m) {
    const hostStart = patternPort(m[1]!, text);
    const hostEnd = m[2] === undefined ? hostStart : patternPort(m[2], text);
    if (hostEnd < hostStart) throw badPattern(text, `the range ends before it starts`);
    return { text, proto: (m[3] ?? 'tcp').toLowerCase() as Proto, hostStart, hostEnd };
  }
  const full = parsePortForward(text);
  return { text, proto: full.proto, hostStart: full.hostStart, hostEnd: full.hostEnd, full };
}

function badPattern(text: string, why: string): UsageError {
  return new UsageError('INVALID_PORT', `invalid port '${text.trim()}': ${why}`, {
    hint: 'give a forward as listed by roost port ls NAME, or its host port: 8080, 8080/udp, 8000-8010',
  });
}

function patternPort(digits: string, text: string): number {
  const n = Number(digits);
  if (n < 1 || n > 65535) throw badPattern(text, `port ${n} is outside 1–65535`);
  return n;
}

export function matchesPattern(f: PortForward, p: PortPattern): boolean {
  if (p.full) return sameForward(f, p.full);
  return f.proto === p.proto && f.hostStart === p.hostStart && f.hostEnd === p.hostEnd;
}

export interface ForwardsEdit {
  /** The NIC's new list, in the order to write. */
  next: PortForwardSpec[];
  added: PortForward[];
  removed: PortForward[];
  /** Asked to add, but the VM already has exactly that forward: nothing to do for them. */
  already: PortForward[];
}

/**
 * Appends forwards. One that is already there (same proto, address, ports) is not added twice but reported in
 * `already`; one that overlaps a different forward of the same VM is refused (passt would fail to bind it at the
 * next start).
 */
export function planAdd(
  current: readonly PortForwardSpec[],
  add: readonly PortForward[],
  vm = 'NAME',
): ForwardsEdit {
  const existing = current.map(fromPortForwardSpec);
  const next = [...current];
  const added: PortForward[] = [];
  const already: PortForward[] = [];
  for (const f of add) {
    if (existing.some((e) => sameForward(e, f))) {
      if (!already.some((a) => sameForward(a, f))) already.push(f);
      continue;
    }
    if (added.some((a) => sameForward(a, f))) continue;
    const clash = [...existing, ...added].find((e) => forwardsOverlap(e, f));
    if (clash) {
      throw new UsageError(
        'PORT_CONFLICT',
        `${formatPortForward(f)} overlaps this VM's forward ${formatPortForward(clash)}`,
        { hint: `remove that one first: roost port rm ${vm} ${formatPortForward(clash)}` },
      );
    }
    added.push(f);
    next.push(toPortForwardSpec(f));
  }
  return { next, added, removed: [], already };
}

/** Removes every forward matching one of the patterns; a pattern that matches nothing is an error. */
export function planRemove(
  current: readonly PortForwardSpec[],
  patterns: readonly PortPattern[],
): ForwardsEdit {
  const forwards = current.map(fromPortForwardSpec);
  const gone = new Set<number>();
  for (const p of patterns) {
    const hits = forwards.flatMap((f, i) => (matchesPattern(f, p) ? [i] : []));
    if (hits.length === 0) {
      const have = forwards.map(formatPortForward).join(', ') || 'none';
      throw new UsageError('PORT_NOT_FORWARDED', `no forward matches '${p.text}' (forwards: ${have})`, {
        hint: 'list them with: roost port ls NAME',
      });
    }
    hits.forEach((i) => gone.add(i));
  }
  return {
    next: current.filter((_, i) => !gone.has(i)),
    added: [],
    removed: forwards.filter((_, i) => gone.has(i)),
    already: [],
  };
}

/** True when two lists hold the same forwards, in any order. */
export function sameForwardSet(a: readonly PortForwardSpec[], b: readonly PortForwardSpec[]): boolean {
  const fa = a.map(fromPortForwardSpec);
  const fb = b.map(fromPortForwardSpec);
  return fa.length === fb.length && fa.every((f) => fb.some((g) => sameForward(f, g)));
}
