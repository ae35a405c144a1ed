// The SSH dialer against a real OpenSSH server: a private sshd on 127.0.0.1 (random port, own config and
// host key) admits a dedicated local user by key; the remote command reaches a UNIX-socket echo server that
// runs as that user. Needs root (to run sshd and switch users), so it skips — saying why — otherwise.
//
// Its sshd is its own rather than test/harness/remote-host.ts's: that harness makes a remote host for the test
// user (the client key theirs, their known_hosts edited, a session daemon started for the second user), while
// this test dials in-process as root with its own known_hosts, a stranger key and no daemon at all (an echo socket
// behind a fake nc) — using it would start a daemon and tie the test to the test user for nothing.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUri } from '../../src/libvirt/uri.js';
import { dialSsh, SshTunnelError } from '../../src/libvirt/dialers/ssh.js';

const IS_ROOT = process.getuid?.() === 0;
const SSHD = '/usr/sbin/sshd';
const USER = 'roost-ssh-test';
if (!IS_ROOT) {
  console.warn('ssh-dialer.test.ts: skipped — it must run as root to start sshd and act as a second user');
}

function run(cmd: string, args: string[]): string {
  const out = spawnSync(cmd, args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${out.stderr || out.error}`);
  return out.stdout.trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitFor(what: string, ready: () => Promise<boolean>, died: () => string | undefined) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const death = died();
    if (death !== undefined) throw new Error(`${what} exited early: ${death}`);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not ready within 10 s`);
}

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

// Echoes every byte back, one connection at a time, on the socket named by argv[2].
const ECHO_SERVER = `import { createServer } from 'node:net';
createServer((c) => c.pipe(c)).listen(process.argv[2], () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

// A tiny stand-in for \`nc -U PATH\` (the test host has no netcat): stdin → socket → stdout.
const FAKE_NC = `#!${process.execPath}
const { createConnection } = require('node:net');
const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '-q') process.exit(1);
const path = args[args.indexOf('-U') + 1];
const socket = createConnection(path);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', (e) => { console.error('fake nc: ' + e.message); process.exit(1); });
socket.on('close', () => process.exit(0));
`;

describe.skipIf(!IS_ROOT)('dialSsh through a real sshd', () => {
  let tmp: string;
  let port: number;
  let sshd: ChildProcess | undefined;
  let echo: ChildProcess | undefined;
  let createdUser = false;
  let createdPrivsepDir = false;
  let sockPath: string;
  let fakeNc: string;
  const streams: Duplex[] = [];

  const uriFor = (key: string) =>
    parseUri(
      `qemu+ssh://${USER}@127.0.0.1:${port}/session?socket=${encodeURIComponent(sockPath)}` +
        `&netcat=${encodeURIComponent(fakeNc)}&keyfile=${encodeURIComponent(key)}&no_verify=1`,
    );
  const sshOptions = () => [
    '-F',
    '/dev/null', // not root's ~/.ssh/config
    '-o',
    `UserKnownHostsFile=${join(tmp, 'known_hosts')}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'IdentitiesOnly=yes', // only the key under test, never root's own keys or agent
    '-o',
    'LogLevel=ERROR',
  ];

  beforeAll(async () => {
    tmp = mkdtempSync('/tmp/roost-sshd-');
    chmodSync(tmp, 0o755); // the test user must reach the echo socket and the fake nc inside

    // The second user: no home, no password (the '*' keeps sshd from treating it as locked), key login only.
    if (spawnSync('id', ['-u', USER]).status !== 0) {
      run('useradd', [
        '--system',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/bin/sh',
        USER,
      ]);
      createdUser = true;
    }
    run('usermod', ['-p', '*', USER]);
    const uid = Number(run('id', ['-u', USER]));
    const gid = Number(run('id', ['-g', USER]));

    for (const name of ['host_key', 'client_key', 'stranger_key']) {
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(tmp, name)]);
    }
    writeFileSync(join(tmp, 'authorized_keys'), readFileSync(join(tmp, 'client_key.pub')), { mode: 0o644 });

    port = await freePort();
    writeFileSync(
      join(tmp, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(tmp, 'host_key')}`,
        `PidFile ${join(tmp, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(tmp, 'authorized_keys')}`,
        `AllowUsers ${USER}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // /tmp is world-writable, which StrictModes rejects on the way to authorized_keys.
        'StrictModes no',
        'PermitRootLogin no',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    // sshd refuses to start without its privilege-separation directory (normally made by its service).
    if (!existsSync('/run/sshd')) {
      mkdirSync('/run/sshd', { mode: 0o755 });
      createdPrivsepDir = true;
    }
    let sshdErr = '';
    let sshdExit: string | undefined;
    sshd = spawn(SSHD, ['-D', '-e', '-f', join(tmp, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr?.on('data', (d) => (sshdErr += d));
    sshd.once('exit', (code) => (sshdExit = `code ${code}: ${sshdErr}`));
    await waitFor(
      'sshd',
      () => tcpOpen(port),
      () => sshdExit,
    );

    // Names with spaces and quotes, so the remote command's quoting is exercised for real.
    const sockDir = join(tmp, "sock dir 'q'");
    mkdirSync(sockDir, { mode: 0o700 });
    chownSync(sockDir, uid, gid);
    sockPath = join(sockDir, 'echo.sock');
    writeFileSync(join(tmp, 'echo.mjs'), ECHO_SERVER, { mode: 0o644 });
    fakeNc = join(tmp, 'fake nc');
    writeFileSync(fakeNc, FAKE_NC, { mode: 0o755 });

    let echoExit: string | undefined;
    let listening = false;
    echo = spawn(process.execPath, [join(tmp, 'echo.mjs'), sockPath], { uid, gid, cwd: tmp, stdio: 'pipe' });
    echo.stdout?.on('data', (d) => (listening ||= String(d).includes('listening')));
    echo.once('exit', (code) => (echoExit = `code ${code}`));
    await waitFor(
      'echo server',
      async () => listening,
      () => echoExit,
    );
  }, 60_000);

  afterAll(async () => {
    for (const s of streams) s.destroy();
    for (const child of [echo, sshd]) {
      if (child && child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (createdPrivsepDir) rmSync('/run/sshd', { recursive: true, force: true });
    if (createdUser) spawnSync('userdel', [USER]);
  }, 30_000);

  it('round-trips bytes through ssh, the remote nc and the echo socket', async () => {
    const stream = await dialSsh(uriFor(join(tmp, 'client_key')), {
      sshOptions: sshOptions(),
      timeoutMs: 10_000,
    });
    streams.push(stream);
    const payload = randomBytes(256 * 1024);
    const received: Buffer[] = [];
    let length = 0;
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        received.push(chunk);
        length += chunk.length;
        if (length >= payload.length) resolve();
      });
      stream.on('error', reject);
    });
    // In pieces, like RPC packets.
    for (let off = 0; off < payload.length; off += 7000) stream.write(payload.subarray(off, off + 7000));
    await done;
    expect(Buffer.concat(received).equals(payload)).toBe(true);

    // Our end of the stream → remote EOF → echo closes → ssh exits 0 → the stream ends cleanly.
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.end();
    await ended;
  }, 30_000);

  it('a key the server does not accept fails the stream with ssh’s own words', async () => {
    const stream = await dialSsh(uriFor(join(tmp, 'stranger_key')), {
      sshOptions: sshOptions(),
      timeoutMs: 10_000,
    });
    streams.push(stream);
    const error = await new Promise<Error>((resolve) => {
      stream.on('error', resolve);
      stream.resume();
      stream.write('hello');
    });
    expect(error).toBeInstanceOf(SshTunnelError);
    expect(error).toMatchObject({ code: 'SSH_TUNNEL_FAILED', exitCode: 255 });
    expect(error.message).toMatch(/Permission denied \(publickey\)/);
  }, 30_000);
});
