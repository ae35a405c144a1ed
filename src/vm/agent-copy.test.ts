// The guest agent route against a fake agent that behaves as qemu-ga's file calls are documented to: a write
// reports how many bytes it wrote (possibly fewer than it was given), a read how many it read and whether it hit
// the end, and closing a file is where a full disk shows.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../libvirt/api.js';
import { roostPaths } from '../paths.js';
import { READ_CHUNK, WRITE_CHUNK, copyThroughAgent } from './agent-copy.js';
import type { VmContext } from './context.js';
import type { CopyPlan } from './copy.js';

interface FakeAgent {
  ctx: VmContext;
  /** Length of the longest command sent, in characters. */
  longest: () => number;
  calls: string[];
}

interface FakeOptions {
  /** At most this many bytes per guest-file-write and per guest-file-read. */
  maxIo?: number;
  /** guest-file-close fails (as fclose does when the guest's disk is full). */
  closeFails?: boolean;
}

/**
 * An agent that is this machine: its file calls open, write and read real files, and guest-exec runs the real
 * program (the copy's shell steps included), as qemu-ga does in the guest.
 */
function fakeAgent(opts: FakeOptions = {}): FakeAgent {
  const handles = new Map<number, { fd: number; pos: number }>();
  const done = new Map<number, ReturnType<typeof spawnSync>>();
  const calls: string[] = [];
  let longest = 0;
  let next = 1000;
  const max = opts.maxIo ?? Infinity;
  const commands: Record<string, (a: Record<string, unknown>) => unknown> = {
    'guest-file-open': (a) => {
      handles.set(++next, { fd: openSync(a.path as string, a.mode === 'w' ? 'w' : 'r'), pos: 0 });
      return next;
    },
    'guest-file-write': (a) => {
      const h = handles.get(a.handle as number)!;
      const data = Buffer.from(a['buf-b64'] as string, 'base64').subarray(0, max);
      return { count: writeSync(h.fd, data), eof: false };
    },
    'guest-file-read': (a) => {
      const h = handles.get(a.handle as number)!;
      const buf = Buffer.alloc(Math.min(a.count as number, max));
      const n = readSync(h.fd, buf, 0, buf.length, null);
      return { count: n, 'buf-b64': buf.subarray(0, n).toString('base64'), eof: n === 0 };
    },
    'guest-file-close': (a) => {
      closeSync(handles.get(a.handle as number)!.fd);
      handles.delete(a.handle as number);
      if (opts.closeFails) throw new Error('failed to close handle: No space left on device');
      return {};
    },
    'guest-exec': (a) => {
      calls.push(`exec ${[a.path as string, ...(a.arg as string[])].join(' ')}`);
      done.set(++next, spawnSync(a.path as string, a.arg as string[]));
      return { pid: next };
    },
    'guest-exec-status': (a) => {
      const r = done.get(a.pid as number)!;
      return {
        exited: true,
        exitcode: r.status ?? 1,
        'out-data': Buffer.from(r.stdout as Buffer).toString('base64'),
        'err-data': Buffer.from(r.stderr as Buffer).toString('base64'),
      };
    },
  };
  const client = {
    agentCommand: (_d: unknown, cmd: string) => {
      longest = Math.max(longest, cmd.length);
      const { execute, arguments: args } = JSON.parse(cmd) as {
        execute: string;
        arguments: Record<string, unknown>;
      };
      calls.push(execute);
      try {
        return Promise.resolve(JSON.stringify({ return: commands[execute]!(args) }));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    },
  };
  const ctx = {
    client: client as unknown as LibvirtClient,
    uri: 'test:///',
    paths: roostPaths({ HOME: '/nonexistent/roost-test-home' }),
    env: {},
    close: () => Promise.resolve(),
  } as VmContext;
  return { ctx, calls, longest: () => longest };
}

const dom = { name: 'web', uuid: Buffer.alloc(16), id: 3 };
const tmp = mkdtempSync(join(tmpdir(), 'roost-agent-copy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const plan = (over: Partial<CopyPlan>): CopyPlan => ({
  vm: 'web',
  direction: 'to-guest',
  sources: [],
  destination: '/tmp/',
  recursive: false,
  preserve: true,
  ...over,
});

const nobody = Number(spawnSync('id', ['-u', 'nobody']).stdout.toString().trim());
let n = 0;
/** A fresh directory standing for a guest directory; `open`: writable by everyone, as a guest user's home is to them. */
function guestDir(open = false): string {
  const d = join(tmp, `g${++n}`);
  mkdirSync(d, { mode: 0o755 });
  if (open) spawnSync('chmod', ['0777', d]);
  return d;
}

describe('copying through the guest agent', () => {
  const data = randomBytes(Math.max(3 * WRITE_CHUNK, READ_CHUNK) + 17);
  const src = join(tmp, 'up.bin');
  writeFileSync(src, data, { mode: 0o640 });
  utimesSync(src, 1_600_000_000, 1_600_000_000);

  it('sends a file in commands small enough for the agent socket to take at once, with its mode and time', async () => {
    const f = fakeAgent();
    const dir = guestDir();
    const bytes = await copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: `${dir}/` }));
    expect(bytes).toBe(data.length);
    expect(readFileSync(join(dir, 'up.bin')).equals(data)).toBe(true);
    // Each command fits a socket buffer at once (libvirt garbles one that does not): well under 100 KiB.
    expect(f.longest()).toBeLessThan(100 * 1024);
    expect(f.calls.filter((c) => c === 'guest-file-write')).toHaveLength(
      Math.ceil(data.length / WRITE_CHUNK),
    );
    const st = statSync(join(dir, 'up.bin'));
    expect([st.mode & 0o7777, Math.floor(st.mtimeMs / 1000)]).toEqual([0o640, 1_600_000_000]);
    // Nothing left behind: no staging directory, no temporary directory beside the file.
    expect(readdirSync(dir)).toEqual(['up.bin']);
    expect(f.calls.filter((c) => c.startsWith('exec '))).toHaveLength(2);
  });

  it('sends again what a short write left out: the guest gets every byte', async () => {
    const f = fakeAgent({ maxIo: 100_000 });
    const dir = guestDir();
    await copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: `${dir}/short.bin` }));
    expect(readFileSync(join(dir, 'short.bin')).equals(data)).toBe(true);
  });

  it('fails when closing the guest file fails (a full disk), not reporting a copy that did not land', async () => {
    const f = fakeAgent({ closeFails: true });
    const dir = guestDir();
    await expect(
      copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: `${dir}/` })),
    ).rejects.toThrow(/guest-file-close: failed to close handle: No space left on device/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("gives a file it creates to the login user, and leaves an overwritten file's owner and mode", async () => {
    const f = fakeAgent();
    const dir = guestDir();
    writeFileSync(join(dir, 'motd'), 'old', { mode: 0o600 });
    const up = (destination: string) =>
      copyThroughAgent(
        f.ctx,
        dom,
        plan({ sources: [src], destination, preserve: false }),
        () => {},
        'nobody',
      );
    await up(`${dir}/new.bin`);
    await up(`${dir}/motd`);
    expect(statSync(join(dir, 'new.bin')).uid).toBe(nobody);
    const motd = statSync(join(dir, 'motd'));
    expect([motd.uid, motd.mode & 0o7777]).toEqual([process.getuid!(), 0o600]);
    expect(readFileSync(join(dir, 'motd')).equals(data)).toBe(true);
  });

  it('without a login user the files stay the agent’s (root’s)', async () => {
    const f = fakeAgent();
    const dir = guestDir();
    await copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: `${dir}/x.bin` }));
    expect(statSync(join(dir, 'x.bin')).uid).toBe(process.getuid!());
  });

  it('replaces a symbolic link placed at the destination: the file it points to keeps its bytes, mode and owner', async () => {
    const f = fakeAgent();
    const home = guestDir(true);
    const secret = join(guestDir(), 'shadow');
    writeFileSync(secret, 'root:secret\n', { mode: 0o600 });
    symlinkSync(secret, join(home, 'notes'));
    await copyThroughAgent(
      f.ctx,
      dom,
      plan({ sources: [src], destination: `${home}/notes` }),
      () => {},
      'nobody',
    );
    expect(readFileSync(secret, 'utf8')).toBe('root:secret\n');
    const s = statSync(secret);
    expect([s.mode & 0o7777, s.uid]).toEqual([0o600, process.getuid!()]);
    const l = lstatSync(join(home, 'notes'));
    expect([l.isFile(), l.uid, l.mode & 0o7777]).toEqual([true, nobody, 0o640]);
    expect(readFileSync(join(home, 'notes')).equals(data)).toBe(true);
  });

  it('does not follow, as root, a directory link in a directory others can write; nothing is written', async () => {
    const f = fakeAgent();
    const home = guestDir(true);
    const etc = guestDir();
    symlinkSync(etc, join(home, 'drop'));
    await expect(
      copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: `${home}/drop/job` })),
    ).rejects.toThrow(/drop is a symbolic link in a directory a guest user can change/);
    expect(readdirSync(etc)).toEqual([]);
    expect(readdirSync(home)).toEqual(['drop']);
  });

  it('follows a link that only root can change (in a root-only directory)', async () => {
    const f = fakeAgent();
    const sys = guestDir();
    const real = guestDir();
    symlinkSync(real, join(sys, 'lib'));
    await copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: `${sys}/lib/up.bin` }));
    expect(readFileSync(join(real, 'up.bin')).equals(data)).toBe(true);
  });

  it('refuses to overwrite a directory with a file', async () => {
    const f = fakeAgent();
    const dir = guestDir();
    mkdirSync(join(dir, 'up.bin', 'x'), { recursive: true });
    await expect(
      copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: `${dir}/` })),
    ).rejects.toThrow(/the copy in the guest failed: .*directory/);
    expect(readdirSync(dir)).toEqual(['up.bin']);
  });

  it('reads a file back through short reads, with its mode and time, leaving no staging copy', async () => {
    const f = fakeAgent({ maxIo: 70_000 });
    const dir = guestDir();
    writeFileSync(join(dir, 'data.bin'), data, { mode: 0o640 });
    utimesSync(join(dir, 'data.bin'), 1_600_000_000, 1_600_000_000);
    const out = join(tmp, 'down.bin');
    const bytes = await copyThroughAgent(
      f.ctx,
      dom,
      plan({ direction: 'from-guest', sources: [`${dir}/data.bin`], destination: out }),
    );
    expect(bytes).toBe(data.length);
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(statSync(out).mode & 0o7777).toBe(0o640);
    expect(Math.floor(statSync(out).mtimeMs / 1000)).toBe(1_600_000_000);
    const stage = f.calls.find((c) => c.startsWith('exec rm -rf -- '))!.slice('exec rm -rf -- '.length);
    expect(() => statSync(stage)).toThrow(/ENOENT/);
  });

  it('refuses to read a symbolic link (root would read what it points to); no local file made', async () => {
    const f = fakeAgent();
    const home = guestDir(true);
    const secret = join(guestDir(), 'shadow');
    writeFileSync(secret, 'root:secret\n', { mode: 0o600 });
    symlinkSync(secret, join(home, 'x'));
    const out = join(guestDir(), 'x');
    await expect(
      copyThroughAgent(
        f.ctx,
        dom,
        plan({ direction: 'from-guest', sources: [`${home}/x`], destination: out }),
      ),
    ).rejects.toThrow(/x is a symbolic link, not a regular file/);
    expect(() => statSync(out)).toThrow(/ENOENT/);
  });
});
