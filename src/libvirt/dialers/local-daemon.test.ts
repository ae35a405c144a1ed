import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Transport } from '../rpc/transport.js';
import { parseUri } from '../uri.js';
import { connectWithAutostart } from './autostart.js';
import { DaemonUnavailableError, SocketConnectError } from '../errors.js';
import {
  resolveSocket,
  runtimeDir,
  shouldAutostart,
  type DaemonName,
  type SocketOptions,
} from './socket-path.js';
import { killBeforeTheLoopRuns, neverAccepting } from './testing.js';
import { dialUnix } from './unix.js';

const AUTOSTART_MODULE = fileURLToPath(new URL('./autostart.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

describe('runtimeDir', () => {
  it('follows glib: XDG_RUNTIME_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(runtimeDir({ XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/h' }, 1000)).toBe('/run/user/1000');
    expect(runtimeDir({ XDG_CACHE_HOME: '/c', HOME: '/h' }, 1000)).toBe('/c');
    expect(runtimeDir({ XDG_RUNTIME_DIR: '', HOME: '/home/u' }, 1000)).toBe('/home/u/.cache');
    // No $HOME: the passwd entry of the uid (root's home is /root on any Linux).
    expect(runtimeDir({}, 0)).toBe('/root/.cache');
  });
});

describe('resolveSocket', () => {
  const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
  const RT = '/run/user/1000/libvirt';
  const on =
    (...paths: string[]) =>
    (p: string) =>
      paths.includes(p);
  const has =
    (...names: DaemonName[]) =>
    (n: DaemonName) =>
      names.includes(n);
  const cases: Array<[string, string, SocketOptions, string, string]> = [
    [
      'modular exists',
      'qemu:///session',
      { exists: on(`${RT}/virtqemud-sock`) },
      `${RT}/virtqemud-sock`,
      'virtqemud',
    ],
    [
      'monolithic exists',
      'qemu:///session',
      { exists: on(`${RT}/libvirt-sock`) },
      `${RT}/libvirt-sock`,
      'libvirtd',
    ],
    [
      'both exist: modular wins',
      'qemu:///session',
      { exists: on(`${RT}/libvirt-sock`, `${RT}/virtqemud-sock`) },
      `${RT}/virtqemud-sock`,
      'virtqemud',
    ],
    [
      'neither, virtqemud installed',
      'qemu:///session',
      { installed: has('virtqemud', 'libvirtd') },
      `${RT}/virtqemud-sock`,
      'virtqemud',
    ],
    [
      'neither, only libvirtd installed',
      'qemu:///session',
      { installed: has('libvirtd') },
      `${RT}/libvirt-sock`,
      'libvirtd',
    ],
    [
      'neither, nothing installed',
      'qemu:///session',
      { installed: has() },
      `${RT}/virtqemud-sock`,
      'virtqemud',
    ],
    [
      'mode=legacy beats an existing modular socket',
      'qemu:///session?mode=legacy',
      { exists: on(`${RT}/virtqemud-sock`) },
      `${RT}/libvirt-sock`,
      'libvirtd',
    ],
    [
      'mode=direct beats an existing monolithic socket',
      'qemu:///session?mode=direct',
      { exists: on(`${RT}/libvirt-sock`) },
      `${RT}/virtqemud-sock`,
      'virtqemud',
    ],
    [
      'socket= wins',
      'qemu+unix:///session?socket=/srv/s.sock',
      { exists: on(`${RT}/virtqemud-sock`) },
      '/srv/s.sock',
      'virtqemud',
    ],
    [
      'system, modular',
      'qemu:///system',
      { exists: on('/var/run/libvirt/virtqemud-sock') },
      '/var/run/libvirt/virtqemud-sock',
      'virtqemud',
    ],
    [
      'system, monolithic',
      'qemu:///system',
      { exists: on('/var/run/libvirt/libvirt-sock') },
      '/var/run/libvirt/libvirt-sock',
      'libvirtd',
    ],
    [
      'system, read-only',
      'qemu:///system',
      { readonly: true, exists: on('/var/run/libvirt/libvirt-sock-ro') },
      '/var/run/libvirt/libvirt-sock-ro',
      'libvirtd',
    ],
    [
      "root's session is the system daemon",
      'qemu:///session',
      { uid: 0, exists: on('/var/run/libvirt/libvirt-sock') },
      '/var/run/libvirt/libvirt-sock',
      'libvirtd',
    ],
    [
      'no XDG_RUNTIME_DIR: ~/.cache',
      'qemu:///session',
      { env: { HOME: '/home/u' }, installed: has('libvirtd') },
      '/home/u/.cache/libvirt/libvirt-sock',
      'libvirtd',
    ],
  ];
  it.each(cases)('%s', (_name, raw, opts, path, daemon) => {
    const target = resolveSocket(parseUri(raw), {
      env,
      uid: 1000,
      exists: () => false,
      installed: () => false,
      ...opts,
    });
    expect(target.path).toBe(path);
    expect(target.daemon).toBe(daemon);
    expect(target.explicit).toBe(raw.includes('socket='));
  });
});

describe('shouldAutostart', () => {
  const cases: Array<
    [string, string, { env?: NodeJS.ProcessEnv; uid?: number; autostart?: boolean }, boolean]
  > = [
    ['session as a user', 'qemu:///session', {}, true],
    ['system', 'qemu:///system', {}, false],
    ['root', 'qemu:///session', { uid: 0 }, false],
    ['LIBVIRT_AUTOSTART=0', 'qemu:///session', { env: { LIBVIRT_AUTOSTART: '0' } }, false],
    [
      'LIBVIRT_AUTOSTART=0 beats autostart:true',
      'qemu:///session',
      { env: { LIBVIRT_AUTOSTART: '0' }, autostart: true },
      false,
    ],
    ['LIBVIRT_AUTOSTART=1', 'qemu:///session', { env: { LIBVIRT_AUTOSTART: '1' } }, true],
    ['socket= given', 'qemu:///session?socket=/s', {}, false],
    ['socket= given, autostart:true', 'qemu:///session?socket=/s', { autostart: true }, true],
    ['autostart:false', 'qemu:///session', { autostart: false }, false],
    ['ssh', 'qemu+ssh://h/session', {}, false],
  ];
  it.each(cases)('%s', (_name, raw, opts, expected) => {
    expect(shouldAutostart(parseUri(raw), { env: {}, uid: 1000, ...opts })).toBe(expected);
  });
});

// A stand-in for `libvirtd --timeout=120`: logs its start, waits a little (so racing clients really race),
// then listens where a session daemon would, under $XDG_RUNTIME_DIR/libvirt. It greets each client.
const FAKE_DAEMON = `#!${process.execPath}
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
const rt = process.env.XDG_RUNTIME_DIR;
appendFileSync(rt + '/spawns.log', JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), env: process.env }) + '\\n');
await new Promise((r) => setTimeout(r, 150));
mkdirSync(rt + '/libvirt', { recursive: true });
for (const name of ['libvirt-sock', 'virtqemud-sock']) {
  rmSync(rt + '/libvirt/' + name, { force: true });
  createServer((c) => c.end('hello from ' + process.pid + '\\n')).listen(rt + '/libvirt/' + name);
}
setTimeout(() => process.exit(0), 20000); // never outlive the test run
`;

// One roost process: connects with autostart after a common start time, prints the greeting.
const CLIENT = `
const { connectWithAutostart } = await import(process.env.AUTOSTART_MODULE);
await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.GO_AT) - Date.now())));
const socket = await connectWithAutostart(process.env.SOCK, {
  daemon: process.env.DAEMON,
  env: { XDG_RUNTIME_DIR: process.env.RT, PATH: process.env.PATH },
  uid: 1000,
});
socket.once('data', (d) => { process.stdout.write(String(d)); socket.destroy(); });
`;

interface Spawned {
  pid: number;
  argv: string[];
  env: Record<string, string>;
}

describe('connectWithAutostart (real processes, fake daemon)', () => {
  let tmp: string;
  let rt: string;
  let daemon: string;
  let sock: string;

  const spawns = (): Spawned[] =>
    existsSync(join(rt, 'spawns.log'))
      ? readFileSync(join(rt, 'spawns.log'), 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Spawned)
      : [];
  const greeting = (socket: Transport) =>
    new Promise<string>((resolve) => socket.on('data', (d) => resolve(String(d))));

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'roost-autostart-'));
    rt = join(tmp, 'rt');
    mkdirSync(rt, { mode: 0o700 });
    daemon = join(tmp, 'fake-libvirtd');
    writeFileSync(daemon, FAKE_DAEMON);
    chmodSync(daemon, 0o755);
    sock = join(rt, 'libvirt', 'libvirt-sock');
  });

  afterEach(() => {
    for (const { pid } of spawns()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('ENOENT → starts the daemon once (--timeout=120, XDG_* kept, rest dropped) → connects', async () => {
    const env = { XDG_RUNTIME_DIR: rt, XDG_CONFIG_HOME: '/cfg', PATH: process.env.PATH, SECRET_TOKEN: 'x' };
    const socket = await connectWithAutostart(sock, { daemon, env, uid: 1000 });
    expect(await greeting(socket)).toMatch(/^hello from/);
    socket.destroy();
    const [started, ...more] = spawns();
    expect(more).toEqual([]);
    expect(started?.argv).toEqual(['--timeout=120']);
    expect(started?.env).toMatchObject({ XDG_RUNTIME_DIR: rt, XDG_CONFIG_HOME: '/cfg', LC_ALL: 'C' });
    expect(started?.env).not.toHaveProperty('SECRET_TOKEN');
    // $RT/libvirt was created private, with the lock file beside the sockets.
    expect(readdirSync(join(rt, 'libvirt'))).toContain('fake-libvirtd.lock');
    // The daemon did not inherit our lock descriptor (else it would hold the lock for its whole life).
    const fds = readdirSync(`/proc/${started?.pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${started?.pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    expect(fds.some((target) => target.endsWith('.lock'))).toBe(false);
  });

  it('two roost processes started at once spawn the daemon exactly once', async () => {
    const goAt = String(Date.now() + 1500);
    const run = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CLIENT], {
          cwd: REPO,
          env: { ...process.env, AUTOSTART_MODULE, GO_AT: goAt, SOCK: sock, DAEMON: daemon, RT: rt },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => resolve({ code, out, err }));
      });
    const results = await Promise.all([run(), run(), run()]);
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^hello from \d+/);
    }
    expect(spawns()).toHaveLength(1);
    expect(new Set(results.map((r) => r.out)).size).toBe(1); // all talk to the same daemon
  }, 30_000);

  it('concurrent calls in one process also spawn once', async () => {
    const env = { XDG_RUNTIME_DIR: rt, PATH: process.env.PATH };
    const sockets = await Promise.all(
      [1, 2, 3].map(() => connectWithAutostart(sock, { daemon, env, uid: 1000 })),
    );
    sockets.forEach((s) => s.destroy());
    expect(spawns()).toHaveLength(1);
  });

  it('a running daemon is used without starting another', async () => {
    const env = { XDG_RUNTIME_DIR: rt, PATH: process.env.PATH };
    (await connectWithAutostart(sock, { daemon, env })).destroy();
    (await connectWithAutostart(sock, { daemon, env })).destroy();
    expect(spawns()).toHaveLength(1);
  });

  it('a daemon that dies under the connect (its backlog reset) → starts a new one and connects', async () => {
    // The dying daemon: a single-threaded listener that never accepts (perl), killed while our connection waits in
    // its backlog and before the event loop runs again, as when libvirtd is killed or its --timeout ends.
    mkdirSync(join(rt, 'libvirt'), { mode: 0o700 });
    const dying = await neverAccepting(sock);
    try {
      const connecting = connectWithAutostart(sock, {
        daemon,
        env: { XDG_RUNTIME_DIR: rt, PATH: process.env.PATH },
      });
      killBeforeTheLoopRuns(dying);
      const socket = await connecting;
      expect(await greeting(socket)).toMatch(/^hello from/);
      socket.destroy();
      expect(spawns()).toHaveLength(1);
    } finally {
      dying.kill('SIGKILL');
    }
  });

  it('LIBVIRT_AUTOSTART=0 → immediate DaemonUnavailableError, nothing started', async () => {
    const started = Date.now();
    const err = await connectWithAutostart(sock, {
      daemon,
      env: { XDG_RUNTIME_DIR: rt, LIBVIRT_AUTOSTART: '0' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonUnavailableError);
    expect(err).toMatchObject({ code: 'DAEMON_UNAVAILABLE', reason: 'autostart-disabled', socketPath: sock });
    expect((err as Error).message).toMatch(/LIBVIRT_AUTOSTART=0/);
    expect(Date.now() - started).toBeLessThan(500);
    expect(spawns()).toEqual([]);
  });

  it('no daemon installed → DaemonUnavailableError that says how to install one', async () => {
    const err = await connectWithAutostart(sock, { env: { XDG_RUNTIME_DIR: rt } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DAEMON_UNAVAILABLE', reason: 'not-installed' });
    expect((err as Error).message).toMatch(/scripts\/setup-host\.sh/);
  });

  it('a daemon path that cannot run → spawn-failed', async () => {
    const err = await connectWithAutostart(sock, {
      daemon: join(tmp, 'missing-virtqemud'),
      env: { XDG_RUNTIME_DIR: rt },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DAEMON_UNAVAILABLE', reason: 'spawn-failed' });
    expect((err as Error).message).toMatch(/ENOENT/);
  });

  it('a daemon that never listens → timeout error naming its exit', async () => {
    const err = await connectWithAutostart(sock, {
      daemon: '/bin/true',
      env: { XDG_RUNTIME_DIR: rt, PATH: process.env.PATH },
      attempts: 30,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DAEMON_UNAVAILABLE', reason: 'timeout' });
    expect((err as Error).message).toMatch(/exited with code 0/);
  });

  it('other connect errors stop at once, without starting anything', async () => {
    writeFileSync(join(tmp, 'file'), '');
    const bad = join(tmp, 'file', 'sock');
    const err = await connectWithAutostart(bad, { daemon, env: { XDG_RUNTIME_DIR: rt } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SocketConnectError);
    expect(err).toMatchObject({ code: 'SOCKET_CONNECT_FAILED', errno: 'ENOTDIR' });
    expect(spawns()).toEqual([]);
  });

  it('a path too long for sun_path is refused, not truncated', async () => {
    const err = await connectWithAutostart(join(tmp, 'x'.repeat(120)), { daemon }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SOCKET_CONNECT_FAILED', errno: 'ENAMETOOLONG' });
    expect((err as Error).message).toMatch(/too long/);
  });

  it('waits for the lock, and reports a lock held too long', async () => {
    const lockDir = join(rt, 'libvirt');
    mkdirSync(lockDir, { recursive: true });
    const fd = openSync(join(lockDir, 'fake-libvirtd.lock'), 'a+');
    try {
      // Hold the lock from this process the same way roost does: flock(1) on a shared descriptor.
      expect(
        spawnSync('flock', ['--exclusive', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] }).status,
      ).toBe(0);
      const err = await connectWithAutostart(sock, {
        daemon,
        env: { XDG_RUNTIME_DIR: rt },
        lockTimeoutMs: 1000,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DAEMON_UNAVAILABLE', reason: 'lock-failed' });
      expect(spawns()).toEqual([]);
    } finally {
      closeSync(fd);
    }
    // Released: the next caller gets through.
    (
      await connectWithAutostart(sock, { daemon, env: { XDG_RUNTIME_DIR: rt, PATH: process.env.PATH } })
    ).destroy();
    expect(spawns()).toHaveLength(1);
  });

  it('dialUnix: session URI → autostart through the real socket choice', async () => {
    const socket = await dialUnix(parseUri('qemu:///session'), {
      env: { XDG_RUNTIME_DIR: rt, PATH: process.env.PATH },
      uid: 1000,
      daemonPath: daemon,
    });
    expect(await greeting(socket)).toMatch(/^hello/);
    socket.destroy();
    expect(spawns()).toHaveLength(1);
  });

  it('dialUnix: socket= skips autostart and says what to do', async () => {
    const err = await dialUnix(parseUri(`qemu+unix:///session?socket=${sock}`), {
      env: { XDG_RUNTIME_DIR: rt },
      uid: 1000,
      daemonPath: daemon,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DAEMON_UNAVAILABLE', reason: 'autostart-disabled' });
    expect((err as Error).message).toMatch(/socket=/);
    expect(spawns()).toEqual([]);
  });
});
