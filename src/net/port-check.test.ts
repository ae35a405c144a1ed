import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import {
  checkForwards,
  explainBindFailure,
  isPasstBindFailure,
  unprivilegedPortStart,
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
