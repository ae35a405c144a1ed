import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import {
  checkForwards,
  explainBindFailure,
  hostListeners,
  isPasstBindFailure,
  listenerHolds,
  listenerInodes,
  parseHostListeners,
  unboundPorts,
  unprivilegedPortStart,
  type HostListener,
} from './port-check.js';
import { parsePortForward } from './port-spec.js';

let busy: Server;
let busyPort = 0;
beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => busy.close(() => r())));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof UsageError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'ok';
}

describe('checkForwards on a remote host (its listeners, not a bind probe here)', () => {
  const listener = (address: string, port: number, proto: 'tcp' | 'udp' = 'tcp'): HostListener => ({
    proto,
    address,
    port,
    uid: 1001,
    inode: 1,
  });
  const remote = (listeners: HostListener[]) => ({
    where: 'the remote host alice@lab:2222',
    findHint: (proto: 'tcp' | 'udp', port: number) => `ssh -p 2222 alice@lab ss -lnp${proto[0]} :${port}`,
    listeners,
  });

  it('refuses a port another program listens on there, naming that host and how to find the program', async () => {
    const r = await codeOf(
      checkForwards([parsePortForward('8080:80')], { remote: remote([listener('127.0.0.1', 8080)]) }),
    );
    expect(r).toBe(
      'PORT_IN_USE: host port 8080/tcp on 127.0.0.1 of the remote host alice@lab:2222 is already in use by ' +
        'another program (127.0.0.1:8080:80/tcp)',
    );
    const e = (await checkForwards([parsePortForward('8080:80')], {
      remote: remote([listener('0.0.0.0', 8080)]),
    }).catch((x: unknown) => x)) as UsageError;
    expect(e.hint).toMatch(/ssh -p 2222 alice@lab ss -lnpt :8080/);
  });

  it('accepts a port free there even when this host’s own port is taken (no local probe)', async () => {
    const spec = parsePortForward(`127.0.0.1:${busyPort}:80`);
    expect(await codeOf(checkForwards([spec], { remote: remote([listener('127.0.0.1', 8080)]) }))).toBe('ok');
    expect(await codeOf(checkForwards([spec]))).toMatch(
      /^PORT_IN_USE: host port \d+\/tcp on 127\.0\.0\.1 is/,
    );
  });

  it('checks every port of a range, and UDP against UDP only', async () => {
    expect(
      await codeOf(
        checkForwards([parsePortForward('9000-9010:9000-9010')], { remote: remote([listener('::', 9005)]) }),
      ),
    ).toMatch(/^PORT_IN_USE: host port 9005\/tcp/);
    expect(
      await codeOf(
        checkForwards([parsePortForward('5353:53/udp')], { remote: remote([listener('127.0.0.1', 5353)]) }),
      ),
    ).toBe('ok');
  });
});

describe('listenerHolds', () => {
  const l = (address: string) => ({ proto: 'tcp' as const, address, port: 80 });
  it('an address, or a wildcard of its family (:: is dual-stack), holds the port', () => {
    expect(listenerHolds(l('127.0.0.1'), 'tcp', '127.0.0.1', 80)).toBe(true);
    expect(listenerHolds(l('0.0.0.0'), 'tcp', '127.0.0.1', 80)).toBe(true);
    expect(listenerHolds(l('127.0.0.1'), 'tcp', '0.0.0.0', 80)).toBe(true);
    expect(listenerHolds(l('::'), 'tcp', '127.0.0.1', 80)).toBe(true);
    expect(listenerHolds(l('::1'), 'tcp', '::', 80)).toBe(true);
  });
  it('another address, another family’s wildcard, another port or protocol does not', () => {
    expect(listenerHolds(l('127.0.0.2'), 'tcp', '127.0.0.1', 80)).toBe(false);
    expect(listenerHolds(l('0.0.0.0'), 'tcp', '::1', 80)).toBe(false);
    expect(listenerHolds(l('127.0.0.1'), 'tcp', '127.0.0.1', 81)).toBe(false);
    expect(listenerHolds(l('127.0.0.1'), 'udp', '127.0.0.1', 80)).toBe(false);
  });
});

describe('checkForwards', () => {
  it('refuses a privileged host port for a non-root user, with the reason', async () => {
    const low = unprivilegedPortStart() - 1;
    if (low < 1) return; // this kernel lets everyone bind every port: nothing to refuse
    expect(await codeOf(checkForwards([parsePortForward(`${low}:80`)], { uid: 1000 }))).toMatch(
      /^PORT_PRIVILEGED: .*passt runs as you/,
    );
  });

  it('refuses a port another program listens on', async () => {
    expect(await codeOf(checkForwards([parsePortForward(`${busyPort}:80`)], { uid: 1000 }))).toMatch(
      new RegExp(`^PORT_IN_USE: host port ${busyPort}/tcp`),
    );
  });

  it('refuses a port another VM forwards, naming that VM', async () => {
    const existing = [{ vm: 'web', forward: parsePortForward('127.0.0.1:18123:80') }];
    expect(await codeOf(checkForwards([parsePortForward('18123:8080')], { uid: 1000, existing }))).toMatch(
      /^PORT_CONFLICT: .*VM 'web'/,
    );
  });

  it('refuses overlapping forwards in one request', async () => {
    const fs = [parsePortForward('18200-18210:80-90'), parsePortForward('18205:22')];
    expect(await codeOf(checkForwards(fs, { uid: 1000 }))).toMatch(/^PORT_CONFLICT: .*overlap/);
  });

  it('accepts free ports', async () => {
    expect(
      await codeOf(
        checkForwards([parsePortForward('18300:80'), parsePortForward('18300:53/udp')], { uid: 1000 }),
      ),
    ).toBe('ok');
  });
});

describe('an address this host does not have', () => {
  it('is refused as not available, not as "in use by another program"', async () => {
    // 192.0.2.0/24 is TEST-NET-1: documentation only, never a host's address.
    expect(await codeOf(checkForwards([parsePortForward('192.0.2.7:18400:80')], { uid: 1000 }))).toBe(
      'PORT_ADDRESS_NOT_AVAILABLE: this host has no address 192.0.2.7: passt cannot listen on it (192.0.2.7:18400:80/tcp)',
    );
  });
});

describe('a passt that could not bind, explained', () => {
  it("recognises passt's words as libvirt passes them on, and nothing else", () => {
    expect(
      isPasstBindFailure(
        new Error(
          "internal error: Child process (/usr/bin/passt --one-off …) unexpected exit status 1: Failed to bind any port for '-t 127.0.0.1/8080:80', exiting",
        ),
      ),
    ).toBe(true);
    expect(isPasstBindFailure(new Error('internal error: process exited while connecting to monitor'))).toBe(
      false,
    );
  });

  it('names the forward that cannot bind now, why, and the fix', async () => {
    const forwards = [parsePortForward('18410:22'), parsePortForward(`${busyPort}:80`)];
    const why = await explainBindFailure(forwards, 'web');
    expect(why).toMatchObject({
      code: 'PORT_IN_USE',
      message: `host port ${busyPort}/tcp on 127.0.0.1 is already in use by another program (127.0.0.1:${busyPort}:80/tcp)`,
    });
    expect(why!.hint).toContain(`roost port rm web 127.0.0.1:${busyPort}:80/tcp`);
    expect(await explainBindFailure([parsePortForward('192.0.2.7:18411:80')], 'web')).toMatchObject({
      code: 'PORT_ADDRESS_NOT_AVAILABLE',
    });
    expect(await explainBindFailure([parsePortForward('18412:80')], 'web')).toBeUndefined();
  });
});

describe('which forwarded ports a passt really listens on', () => {
  const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A029 00000000:0000 0A 00000000:00000000 00:00000000 00000000   985        0 694382 1 0 100 0 0 10 0
   1: 0100007F:A02A 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000   985        0 694390 1 0 100 0 0 10 0
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1682 1 0 100 0 0 10 0
`;
  const udp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  5: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   985        0 777 2 0 0
`;

  it('reads listening TCP sockets and unconnected UDP ones, with owner and inode, from /proc/net', () => {
    expect(parseHostListeners(tcp, 'tcp')).toEqual([
      { proto: 'tcp', address: '127.0.0.1', port: 41001, uid: 985, inode: 694382 },
      { proto: 'tcp', address: '0.0.0.0', port: 8080, uid: 0, inode: 1682 },
    ]);
    expect(parseHostListeners(udp6, 'udp')).toEqual([
      { proto: 'udp', address: '::', port: 5353, uid: 985, inode: 777 },
    ]);
    expect(parseHostListeners('garbage\n1: zz:zz 0A', 'tcp')).toEqual([]);
  });

  const me = 985;
  const l = (port: number, uid: number, inode: number, address = '127.0.0.1'): HostListener => ({
    proto: 'tcp',
    address,
    port,
    uid,
    inode,
  });

  it("counts a port as passt's when a listener of this user on it is new since before the start", () => {
    const before = new Set([1]);
    const f = [parsePortForward('41001:80'), parsePortForward('41002-41003:82-83')];
    const now = [l(41001, me, 10), l(41002, me, 11), l(41003, me, 12)];
    expect(unboundPorts(f, before, now, me)).toEqual([]);
  });

  it('names who holds a port passt could not take: the listener from before, of any user', () => {
    const before = new Set([1, 2]);
    const f = [parsePortForward('41001:80'), parsePortForward('41002:80'), parsePortForward('41003:80')];
    const now = [l(41001, 0, 1, '0.0.0.0'), l(41002, me, 2), l(41003, me, 13, '10.0.0.5')];
    const unbound = unboundPorts(f, before, now, me);
    expect(unbound.map((u) => u.port)).toEqual([41001, 41002, 41003]);
    // Another user's process is named by its user; a wildcard listener takes the loopback port too.
    expect(unbound[0]!.holder).toMatch(/^a process of (user root \(uid 0\)|uid 0)$/);
    expect(unbound[1]!.holder).toBeDefined();
    // A listener on another address does not take 127.0.0.1's port: nobody holds it, passt just did not bind.
    expect(unbound[2]!.holder).toBeUndefined();
  });

  it('finds the process of this user that holds a port, by pid and name', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as { port: number }).port;
      const listeners = hostListeners();
      const before = listenerInodes(listeners);
      const [u] = unboundPorts([parsePortForward(`${port}:80`)], before, listeners);
      expect(u?.holder).toBe(`pid ${process.pid} (${readComm()})`);
    } finally {
      srv.close();
    }
  });
});

function readComm(): string {
  return readFileSync('/proc/self/comm', 'utf8').trim();
}
