// The guest agent route against a fake agent that behaves as qemu-ga's file calls are documented to: a write
// reports how many bytes it wrote (possibly fewer than it was given), a read how many it read and whether it hit
// the end, and closing a file is where a full disk shows.
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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
  files: Map<string, Buffer>;
  meta: Map<string, string>;
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

function fakeAgent(opts: FakeOptions = {}): FakeAgent {
  const files = new Map<string, Buffer>();
  const meta = new Map<string, string>();
  const handles = new Map<number, { path: string; pos: number }>();
  const calls: string[] = [];
  let longest = 0;
  let next = 1000;
  const max = opts.maxIo ?? Infinity;
  const exec = (argv: string[]): number => {
    if (argv[0] === 'test' && argv[1] === '-e') return files.has(argv[2]!) ? 0 : 1;
    if (argv[0] === 'test') return argv[2]!.endsWith('/') || argv[2] === '/tmp' ? 0 : 1;
    if (argv[0] === 'chown') calls.push(`chown ${argv.slice(1).join(' ')}`);
    if (argv[0] === 'chmod') calls.push(`chmod ${argv[1]}`);
    if (argv[0] === 'chmod' || argv[0] === 'touch') {
      meta.set(argv.at(-1)!, `${meta.get(argv.at(-1)!) ?? ''} ${argv.slice(1, -2).join(' ')}`.trim());
    }
    return 0;
  };
  const commands: Record<string, (a: Record<string, unknown>) => unknown> = {
    'guest-file-open': (a) => {
      if (a.mode === 'w') files.set(a.path as string, Buffer.alloc(0));
      else if (!files.has(a.path as string))
        throw new Error('failed to open file: No such file or directory');
      handles.set(++next, { path: a.path as string, pos: 0 });
      return next;
    },
    'guest-file-write': (a) => {
      const h = handles.get(a.handle as number)!;
      const data = Buffer.from(a['buf-b64'] as string, 'base64').subarray(0, max);
      files.set(h.path, Buffer.concat([files.get(h.path)!, data]));
      return { count: data.length, eof: false };
    },
    'guest-file-read': (a) => {
      const h = handles.get(a.handle as number)!;
      const all = files.get(h.path)!;
      const data = all.subarray(h.pos, h.pos + Math.min(a.count as number, max));
      h.pos += data.length;
      return { count: data.length, 'buf-b64': data.toString('base64'), eof: h.pos >= all.length };
    },
    'guest-file-close': (a) => {
      handles.delete(a.handle as number);
      if (opts.closeFails) throw new Error('failed to close handle: No space left on device');
      return {};
    },
    'guest-exec': (a) => ({ pid: exec([a.path as string, ...(a.arg as string[])]) === 0 ? 1 : 2 }),
    'guest-exec-status': (a) => ({
      exited: true,
      exitcode: a.pid === 1 ? 0 : 1,
      'out-data': Buffer.from('640 1600000000 12345\n').toString('base64'),
    }),
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
  return { ctx, files, meta, calls, longest: () => longest };
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

describe('copying through the guest agent', () => {
  const data = randomBytes(Math.max(3 * WRITE_CHUNK, READ_CHUNK) + 17);
  const src = join(tmp, 'up.bin');
  writeFileSync(src, data, { mode: 0o640 });
  utimesSync(src, 1_600_000_000, 1_600_000_000);

  it('sends a file in commands small enough for the agent socket to take at once', async () => {
    const f = fakeAgent();
    const bytes = await copyThroughAgent(f.ctx, dom, plan({ sources: [src] }));
    expect(bytes).toBe(data.length);
    expect(f.files.get('/tmp/up.bin')!.equals(data)).toBe(true);
    // Each command fits a socket buffer at once (libvirt garbles one that does not): well under 100 KiB.
    expect(f.longest()).toBeLessThan(100 * 1024);
    expect(f.calls.filter((c) => c === 'guest-file-write')).toHaveLength(
      Math.ceil(data.length / WRITE_CHUNK),
    );
    expect(f.meta.get('/tmp/up.bin')).toBe('640 -m -d @1600000000');
  });

  it('sends again what a short write left out: the guest gets every byte', async () => {
    const f = fakeAgent({ maxIo: 100_000 });
    await copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: '/tmp/short.bin' }));
    expect(f.files.get('/tmp/short.bin')!.equals(data)).toBe(true);
  });

  it('fails when closing the guest file fails (a full disk), not reporting a copy that did not land', async () => {
    const f = fakeAgent({ closeFails: true });
    await expect(copyThroughAgent(f.ctx, dom, plan({ sources: [src] }))).rejects.toThrow(
      /guest-file-close: failed to close handle: No space left on device/,
    );
  });

  it("gives a file it creates to the login user before setting its mode, and leaves an overwritten file's owner", async () => {
    const f = fakeAgent();
    f.files.set('/etc/motd', Buffer.from('old'));
    await copyThroughAgent(
      f.ctx,
      dom,
      plan({ sources: [src], destination: '/tmp/new.bin' }),
      () => {},
      'debian',
    );
    await copyThroughAgent(
      f.ctx,
      dom,
      plan({ sources: [src], destination: '/etc/motd' }),
      () => {},
      'debian',
    );
    // chown may clear set-id bits, so the mode comes after it; -h and -- keep a link or a '-' name from misleading it.
    expect(f.calls.filter((c) => /^(chown|chmod)/.test(c))).toEqual([
      'chown -h -- debian: /tmp/new.bin',
      'chmod 640',
      'chmod 640',
    ]);
    expect(f.files.get('/etc/motd')!.equals(data)).toBe(true);
  });

  it('without a login user the files stay the agent’s (root’s)', async () => {
    const f = fakeAgent();
    await copyThroughAgent(f.ctx, dom, plan({ sources: [src], destination: '/tmp/x.bin' }));
    expect(f.calls.some((c) => c.startsWith('chown'))).toBe(false);
  });

  it('reads a file back through short reads, with its mode and time', async () => {
    const f = fakeAgent({ maxIo: 70_000 });
    f.files.set('/srv/data.bin', data);
    const out = join(tmp, 'down.bin');
    const bytes = await copyThroughAgent(
      f.ctx,
      dom,
      plan({ direction: 'from-guest', sources: ['/srv/data.bin'], destination: out }),
    );
    expect(bytes).toBe(data.length);
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(statSync(out).mode & 0o7777).toBe(0o640);
    expect(Math.floor(statSync(out).mtimeMs / 1000)).toBe(1_600_000_000);
  });
});
