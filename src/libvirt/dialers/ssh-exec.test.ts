// The one-shot ssh call's pieces: its constant remote command, what it reads back, and the errors of a refused
// host key.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseUri } from '../uri.js';
import { sshCommandFor, sshFailure, SshHostKeyError } from './ssh.js';
import { parseProbe, parseRemoteDirs, REMOTE_DIRS_COMMAND } from './ssh-exec.js';

describe('the remote directories probe', () => {
  it('is one constant sh -c word after the host, with the URI’s port, user and key before it', () => {
    const uri = parseUri("qemu+ssh://al'ice@h:2222/session?keyfile=/k%20k");
    const { args } = sshCommandFor(uri, REMOTE_DIRS_COMMAND, { timeoutMs: 5000 });
    expect(args.slice(-3)).toEqual(['--', 'h', REMOTE_DIRS_COMMAND]);
    expect(args).toEqual(
      expect.arrayContaining(['-p', '2222', '-l', "al'ice", '-i', '/k k', 'BatchMode=yes']),
    );
    expect(REMOTE_DIRS_COMMAND).toMatch(/^sh -c '/);
    expect(REMOTE_DIRS_COMMAND).not.toContain('alice');
  });

  it('reads the NUL-separated answer; anything else is an error saying what the host must offer', () => {
    expect(
      parseRemoteDirs('/home/a\0/run/user/1\0/home/a/.local/share/roost\0/run/user/1/roost\0', 'h'),
    ).toEqual({
      home: '/home/a',
      runtime: '/run/user/1',
      data: '/home/a/.local/share/roost',
      sockets: '/run/user/1/roost',
    });
    expect(parseRemoteDirs('/h\0\0/h/d\0/h/.cache/roost/run\0', 'h').runtime).toBe('');
    expect(() => parseRemoteDirs('Welcome to the server!\n', 'h')).toThrow(/h did not tell its user's home/);
  });
});

describe('the probe script, run by a local sh as the remote login shell would', () => {
  it('makes roost’s directories (0700) and prints them, then the TCP sockets listening now', async () => {
    const home = mkdtempSync(join(tmpdir(), 'roost-probe-'));
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const env = { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const run = spawnSync('sh', ['-c', REMOTE_DIRS_COMMAND], { env, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const { dirs, listeners } = parseProbe(run.stdout, 'h');
      expect(dirs).toEqual({
        home,
        runtime: '',
        data: `${home}/.local/share/roost`,
        sockets: `${home}/.cache/roost/run`,
      });
      expect(statSync(dirs.data).mode & 0o777).toBe(0o700);
      const hex = port.toString(16).toUpperCase().padStart(4, '0');
      // 0100007F is 127.0.0.1 as /proc/net/tcp writes it; 0A is LISTEN. Only listening lines are printed.
      expect(listeners.tcp).toMatch(new RegExp(`0100007F:${hex} 00000000:0000 0A `));
      for (const line of listeners.tcp.split('\n').filter(Boolean)) expect(line.split(/\s+/)[4]).toBe('0A');
    } finally {
      server.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('ssh failures', () => {
  it('a changed host key is its own error with the fix', () => {
    const said =
      '@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n...\nHost key verification failed.\n';
    const e = sshFailure('ssh tunnel to lab', 'lab', 255, null, said);
    expect(e).toBeInstanceOf(SshHostKeyError);
    expect(e.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(e.message).toMatch(/host key of lab is not the one in known_hosts/);
    expect(e.message).toMatch(/ssh-keygen -R/);
  });

  it('an unknown host key says to connect once with ssh', () => {
    const e = sshFailure('ssh to lab', 'lab', 255, null, 'Host key verification failed.\n');
    expect(e.code).toBe('SSH_TUNNEL_FAILED');
    expect(e.message).toMatch(/not in known_hosts: connect once with ssh/);
  });
});
