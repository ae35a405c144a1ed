import { describe, expect, it } from 'vitest';
import type { HostListener } from '../net/host-listeners.js';
import { unboundPorts } from '../net/port-check.js';
import { parsePortForward } from '../net/port-spec.js';
import { preExisting, type ListenerSnapshot } from './port-bound.js';

const me = 1000;
const listener = (address: string, port: number, inode: number): HostListener => ({
  proto: 'tcp',
  address,
  port,
  uid: me,
  inode,
});

describe('preExisting', () => {
  // A snapshot of /proc/net/tcp alone (the forward is TCP on an IPv4 address), taken before passt started.
  const before: ListenerSnapshot = { inodes: new Set([11]), files: new Set(['tcp']) };
  const forward = [parsePortForward('127.0.0.1:8080:80')];

  it('lets a new listener of the snapshot’s own file count as the passt’s', () => {
    const now = [listener('127.0.0.1', 8080, 42)];
    expect(unboundPorts(forward, preExisting(before, now), now, me)).toEqual([]);
  });

  it('never counts a listener from a file the snapshot did not read: it may be older than the start', () => {
    // A wildcard IPv6 socket of ours on the port (in tcp6, not read before): it clashes with the forward, but
    // nothing says it appeared with the start, so the forward is reported, naming it as the holder.
    const now = [listener('::', 8080, 77)];
    const unbound = unboundPorts(forward, preExisting(before, now), now, me);
    expect(unbound.map((u) => u.port)).toEqual([8080]);
    expect(unbound[0]!.holder).toBeDefined();
  });

  it('keeps the snapshot’s own inodes as they were', () => {
    const now = [listener('127.0.0.1', 8080, 11)];
    expect([...preExisting(before, now)]).toEqual([11]);
    expect(unboundPorts(forward, preExisting(before, now), now, me).map((u) => u.port)).toEqual([8080]);
  });
});
