// The ssh commands that reach the remote host's ports: the -W jump's argument array, and the -L forward's life
// (open once it listens, ssh's words when it fails, ended by close) — with stand-in ssh programs (?command=), as
// in ssh.test.ts; the real ssh to a real sshd is test/integration/hosts.test.ts's.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUri } from '../uri.js';
import { SshTunnelError } from './ssh.js';
import { openSshForward, sshJumpCommand } from './ssh-forward.js';

describe('sshJumpCommand', () => {
  it('is the URI’s login with -W to the endpoint, the host after --', () => {
    const uri = parseUri('qemu+ssh://alice@lab:2222/session?keyfile=/k');
    const argv = sshJumpCommand(uri, { host: '127.0.0.1', port: 2230 }, { timeoutMs: 20_000 });
    expect(argv[0]).toBe('ssh');
    expect(argv).toEqual(expect.arrayContaining(['-p', '2222', '-l', 'alice', '-i', '/k', 'BatchMode=yes']));
    expect(argv).toContain('ConnectTimeout=20');
    expect(argv.slice(-4)).toEqual(['-W', '127.0.0.1:2230', '--', 'lab']);
  });

  it('brackets an IPv6 address, uses ?command=, and refuses anything that is not an IP and port', () => {
    const uri = parseUri('qemu+ssh://lab/session?command=/opt/ssh');
    const argv = sshJumpCommand(uri, { host: '::1', port: 22 });
    expect(argv[0]).toBe('/opt/ssh');
    expect(argv).toContain('[::1]:22');
    expect(() => sshJumpCommand(uri, { host: '-oProxyCommand=x', port: 22 })).toThrow(TypeError);
    expect(() => sshJumpCommand(uri, { host: '127.0.0.1', port: 70000 })).toThrow(TypeError);
  });
});

describe('openSshForward', () => {
  let tmp: string;
  let echo: Server;
  let echoPort = 0;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'roost-ssh-forward-'));
    echo = createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as { port: number }).port;
  });
  afterAll(() => {
    echo.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  function script(name: string, body: string): string {
    const path = join(tmp, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }
  const uriWith = (ssh: string) => parseUri(`qemu+ssh://host/session?command=${encodeURIComponent(ssh)}`);

  // What ssh -L does, in miniature: listen on the -L port, join each connection to the target; end at stdin's EOF.
  const FAKE_L = `
const net = require('net');
const spec = process.argv[process.argv.indexOf('-L') + 1].split(':');
const [, local, host, port] = spec;
net.createServer((c) => c.pipe(net.connect(Number(port), host)).pipe(c)).listen(Number(local), '127.0.0.1');
process.stdin.on('end', () => process.exit(0)).resume();`;

  it('listens on a local port that leads to the endpoint, and close() ends ssh', async () => {
    const fake = script('ssh-l', `exec "${process.execPath}" -e "$FAKE" -- "$@"`);
    const forward = await openSshForward(
      uriWith(fake),
      { host: '127.0.0.1', port: echoPort },
      { env: { ...process.env, FAKE: FAKE_L } },
    );
    const answer = await new Promise<string>((resolve, reject) => {
      const s = createConnection({ host: '127.0.0.1', port: forward.port }, () => s.write('hello'));
      s.once('data', (d: Buffer) => (s.destroy(), resolve(d.toString())));
      s.once('error', reject);
    });
    expect(answer).toBe('hello');
    forward.close();
    const closed = async () =>
      new Promise<boolean>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port: forward.port });
        s.once('connect', () => (s.destroy(), resolve(false)));
        s.once('error', () => resolve(true));
      });
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      gone = await closed();
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    expect(gone).toBe(true);
  });

  it('fails with ssh’s own words when ssh ends before it listens', async () => {
    const deny = script('ssh-deny', 'echo "alice@host: Permission denied (publickey)." >&2; exit 255');
    const err = await openSshForward(uriWith(deny), { host: '127.0.0.1', port: echoPort }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SshTunnelError);
    expect((err as Error).message).toMatch(/ssh forward to host exited with code 255: .*Permission denied/);
    expect((err as Error).message).toMatch(/could not connect or log in/);
  });

  it('passes the forward and the remote command `cat` (which ends with this process) to ssh', async () => {
    const args = join(tmp, 'args');
    const record = script('ssh-args', `printf '%s\\n' "$@" > "${args}"; exit 255`);
    await openSshForward(uriWith(record), { host: '127.0.0.1', port: echoPort }).catch(() => undefined);
    const { readFileSync } = await import('node:fs');
    const argv = readFileSync(args, 'utf8').trim().split('\n');
    expect(argv).toContain('ExitOnForwardFailure=yes');
    expect(argv[argv.indexOf('-L') + 1]).toMatch(
      new RegExp(`^127\\.0\\.0\\.1:\\d+:127\\.0\\.0\\.1:${echoPort}$`),
    );
    expect(argv.slice(-3)).toEqual(['--', 'host', 'cat']);
  });
});
