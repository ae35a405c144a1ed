import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Transport } from '../rpc/transport.js';
import { killBeforeTheLoopRuns, neverAccepting } from './testing.js';
import { errnoOf, tryConnect, type ConnectResult } from './unix-socket.js';

const fail = (code: string): ConnectResult => ({ error: Object.assign(new Error(code), { code }) });

/** A connector that answers `results` in turn (the last one for ever), counting its calls. */
function scripted(...results: ConnectResult[]) {
  let calls = 0;
  const connect = async () => results[Math.min(calls++, results.length - 1)]!;
  return { connect, calls: () => calls };
}

describe('tryConnect: which failures it waits out', () => {
  it('tries again after ECONNRESET (a daemon dying under the connect) and reports what follows', async () => {
    const s = scripted(fail('ECONNRESET'), fail('ECONNRESET'), fail('ECONNREFUSED'));
    const r = await tryConnect('/x', 5_000, s.connect);
    expect(errnoOf(r.error)).toBe('ECONNREFUSED');
    expect(s.calls()).toBe(3);
  });

  it('tries again after EAGAIN (a full backlog) until the daemon accepts', async () => {
    const socket = {} as Transport;
    const s = scripted(fail('EAGAIN'), fail('EAGAIN'), { socket });
    expect((await tryConnect('/x', 5_000, s.connect)).socket).toBe(socket);
    expect(s.calls()).toBe(3);
  });

  it('gives up on a reset that does not pass once busyMs is over, and says ECONNRESET', async () => {
    const s = scripted(fail('ECONNRESET'));
    const t0 = Date.now();
    const r = await tryConnect('/x', 50, s.connect);
    expect(errnoOf(r.error)).toBe('ECONNRESET');
    expect(s.calls()).toBeGreaterThan(1);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it.each(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTDIR'])('reports %s at once', async (code) => {
    const s = scripted(fail(code));
    expect(errnoOf((await tryConnect('/x', 5_000, s.connect)).error)).toBe(code);
    expect(s.calls()).toBe(1);
  });
});

describe('tryConnect against a real listener that dies under the connect', () => {
  let dir: string;
  let listener: ChildProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'roost-unix-socket-'));
  });
  afterEach(() => {
    listener?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports ECONNREFUSED (what autostart cures), never the reset of the dead daemon', async () => {
    const path = join(dir, 'sock');
    const dying = await neverAccepting(path);
    listener = dying;
    // connect() runs now, synchronously: the connection waits in the listener's backlog.
    const pending = tryConnect(path);
    killBeforeTheLoopRuns(dying);
    const r = await pending;
    r.socket?.destroy();
    expect(r.socket).toBeUndefined();
    expect(errnoOf(r.error)).toBe('ECONNREFUSED');
  });
});
