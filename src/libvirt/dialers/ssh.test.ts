import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUri } from '../uri.js';
import { dialSsh, proxyFor, remoteCommand, shQuote, sshInvocation, SshTunnelError } from './ssh.js';

const NASTY = [
  '',
  'plain',
  'with space',
  "it's",
  `'"'"'`,
  '$(touch /tmp/roost-pwned)',
  '`id`',
  '$HOME ${X:-y} \\ \\\\',
  'semi; rm -rf /; #',
  'new\nline',
  '-n',
  '*?[a]',
];

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'roost-ssh-unit-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(tmp, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('shQuote', () => {
  it.each(NASTY)('%j reads back unchanged through sh', (value) => {
    const out = spawnSync('sh', ['-c', `printf '%s' ${shQuote(value)}`], { encoding: 'utf8' });
    expect(out.stdout).toBe(value);
  });
  it('refuses NUL', () => expect(() => shQuote('a\0b')).toThrow(TypeError));
});

// Runs remoteCommand() the way sshd does — the login shell gets it as one string (`sh -c STRING`) — with
// fake virt-ssh-helper / nc that print their arguments, one per line.
function runRemote(command: string, opts: { helper: boolean; ncProbe?: boolean; env?: NodeJS.ProcessEnv }) {
  // PATH holds only this directory, so the host's own virt-ssh-helper or nc cannot stand in.
  const bin = join(tmp, `bin-${opts.helper ? 'h' : 'n'}-${opts.ncProbe ? 'q' : 'p'}`);
  mkdirSync(bin, { recursive: true });
  for (const tool of ['/bin/sh', '/usr/bin/grep']) {
    const link = join(bin, tool.slice(tool.lastIndexOf('/') + 1));
    if (!existsSync(link)) symlinkSync(tool, link);
  }
  const printArgs = 'for a in "$@"; do printf "%s\\n" "$a"; done';
  if (opts.helper) script(`${bin.slice(tmp.length + 1)}/virt-ssh-helper`, `echo HELPER; ${printArgs}`);
  // Debian's nc complains "option requires an argument -- q" when probed with a bare -q.
  script(
    `${bin.slice(tmp.length + 1)}/nc`,
    `if [ "$*" = "-q" ]; then ${opts.ncProbe ? 'echo "nc: option requires an argument -- q" >&2' : ':'}; exit 1; fi; echo NC; ${printArgs}`,
  );
  const out = spawnSync('/bin/sh', ['-c', command], {
    encoding: 'utf8',
    env: { PATH: bin, HOME: '/home/far', ...opts.env },
  });
  expect(out.stderr).toBe('');
  return out.stdout.split('\n').slice(0, -1);
}

describe('remoteCommand (executed by real shells)', () => {
  it('session → virt-ssh-helper with the open name', () => {
    const uri = parseUri('qemu+ssh://h/session');
    expect(proxyFor(uri)).toBe('native');
    expect(runRemote(remoteCommand(uri), { helper: true })).toEqual(['HELPER', 'qemu:///session']);
  });

  it('read-only system, mode kept for the helper, pass-through params kept', () => {
    const uri = parseUri("qemu+ssh://h/system?mode=direct&x=it's");
    expect(runRemote(remoteCommand(uri, { readonly: true }), { helper: true })).toEqual([
      'HELPER',
      '-r',
      "qemu:///system?mode=direct&x=it's",
    ]);
  });

  it('system, auto, no helper installed → falls back to nc on the monolithic socket', () => {
    const uri = parseUri('qemu+ssh://h/system');
    expect(proxyFor(uri)).toBe('auto');
    expect(runRemote(remoteCommand(uri), { helper: false })).toEqual([
      'NC',
      '-U',
      '/var/run/libvirt/libvirt-sock',
    ]);
    expect(runRemote(remoteCommand(uri), { helper: true })[0]).toBe('HELPER');
  });

  it('nc that needs -q0 gets it', () => {
    const uri = parseUri('qemu+ssh://h/system?proxy=netcat');
    expect(runRemote(remoteCommand(uri), { helper: true, ncProbe: true })).toEqual([
      'NC',
      '-q0',
      '-U',
      '/var/run/libvirt/libvirt-sock',
    ]);
  });

  it.each(NASTY.filter((v) => v !== '' && !v.includes('\n')))('socket path %j arrives intact', (value) => {
    const path = `/tmp/${value}`;
    const uri = parseUri(`qemu+ssh://h/system?socket=${encodeURIComponent(path)}`);
    expect(runRemote(remoteCommand(uri), { helper: true })).toEqual(['NC', '-U', path]);
  });

  it('no value above was ever executed', () => {
    expect(existsSync('/tmp/roost-pwned')).toBe(false);
  });

  it('netcat= with odd characters is run as one word', () => {
    const nc = script("my nc 'x'", 'echo ODDNC; for a in "$@"; do printf "%s\\n" "$a"; done');
    const uri = parseUri(`qemu+ssh://h/system?netcat=${encodeURIComponent(nc)}&socket=/s`);
    expect(runRemote(remoteCommand(uri), { helper: false })).toEqual(['ODDNC', '-U', '/s']);
  });

  it('session over nc uses the *remote* runtime dir', () => {
    const uri = parseUri('qemu+ssh://h/session?proxy=netcat');
    const remote = (env: NodeJS.ProcessEnv) => runRemote(remoteCommand(uri), { helper: false, env });
    expect(remote({ XDG_RUNTIME_DIR: '/run/user/7' })).toEqual([
      'NC',
      '-U',
      '/run/user/7/libvirt/libvirt-sock',
    ]);
    expect(remote({})).toEqual(['NC', '-U', '/home/far/.cache/libvirt/libvirt-sock']);
    const direct = parseUri('qemu+ssh://h/session?proxy=netcat&mode=direct');
    expect(runRemote(remoteCommand(direct), { helper: false, env: { XDG_RUNTIME_DIR: '/r' } })).toEqual([
      'NC',
      '-U',
      '/r/libvirt/virtqemud-sock',
    ]);
  });
});

describe('sshInvocation', () => {
  it('builds an argument array, never a shell line', () => {
    const uri = parseUri('qemu+ssh://alice@example.org:2222/system?keyfile=/k%20y/id&no_verify=1');
    const { command, args } = sshInvocation(uri, { timeoutMs: 2500, sshOptions: ['-F', '/dev/null'] });
    expect(command).toBe('ssh');
    expect(args.slice(0, -1)).toEqual([
      '-p',
      '2222',
      '-l',
      'alice',
      '-i',
      '/k y/id',
      '-T',
      '-e',
      'none',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'ConnectTimeout=3',
      '-F',
      '/dev/null',
      '--',
      'example.org',
    ]);
    expect(args.at(-1)).toBe(remoteCommand(uri));
  });

  it('minimal URI: localhost, batch mode, default ssh', () => {
    const { command, args } = sshInvocation(parseUri('qemu+ssh:///system'));
    expect(command).toBe('ssh');
    expect(args.slice(0, -1)).toEqual(['-T', '-e', 'none', '-o', 'BatchMode=yes', '--', 'localhost']);
  });

  it('no_tty=0 or interactive allow prompts; command= picks the ssh binary', () => {
    expect(sshInvocation(parseUri('qemu+ssh://h/system?no_tty=0')).args).not.toContain('BatchMode=yes');
    expect(sshInvocation(parseUri('qemu+ssh://h/system'), { interactive: true }).args).not.toContain(
      'BatchMode=yes',
    );
    expect(sshInvocation(parseUri('qemu+ssh://h/system?no_tty=1'), { interactive: true }).args).toContain(
      'BatchMode=yes',
    );
    expect(sshInvocation(parseUri('qemu+ssh://h/system?command=/opt/bin/ssh')).command).toBe('/opt/bin/ssh');
  });
});

describe('dialSsh stream (fake ssh executable)', () => {
  const read = (stream: Duplex) =>
    new Promise<{ data: string; error?: Error }>((resolve) => {
      let data = '';
      stream.on('data', (d: Buffer) => (data += d.toString()));
      stream.on('end', () => resolve({ data }));
      stream.on('error', (error) => resolve({ data, error }));
    });
  const uriWith = (ssh: string) => parseUri(`qemu+ssh://host/system?command=${encodeURIComponent(ssh)}`);

  it('round-trips bytes and ends cleanly when the child exits 0', async () => {
    const stream = await dialSsh(uriWith(script('ssh-cat', 'exec cat')));
    const result = read(stream);
    stream.write(Buffer.from([0, 1, 2, 255]));
    stream.end('tail');
    expect(await result).toEqual({ data: '\u0000\u0001\u0002\ufffdtail' });
  });

  it('a failing ssh destroys the stream with its stderr', async () => {
    const stream = await dialSsh(
      uriWith(script('ssh-deny', 'echo "alice@host: Permission denied (publickey)." >&2; exit 255')),
    );
    const { error } = await read(stream);
    expect(error).toBeInstanceOf(SshTunnelError);
    expect(error).toMatchObject({ code: 'SSH_TUNNEL_FAILED', exitCode: 255, host: 'host' });
    expect(error?.message).toMatch(/exited with code 255: alice@host: Permission denied \(publickey\)\./);
  });

  it('a missing remote proxy gets a hint', async () => {
    const stream = await dialSsh(
      uriWith(script('ssh-127', 'echo "sh: 1: exec: nc: not found" >&2; exit 127')),
    );
    const { error } = await read(stream);
    expect(error?.message).toMatch(/nc: not found.*install libvirt there/);
  });

  it('an ssh that cannot be run rejects the dial', async () => {
    const err = await dialSsh(uriWith(join(tmp, 'no-such-ssh'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshTunnelError);
    expect((err as Error).message).toMatch(/cannot run .*ENOENT/);
  });

  it('destroying the stream kills ssh', async () => {
    const stream = await dialSsh(uriWith(script('ssh-sleep', 'exec sleep 30')));
    const child = (stream as unknown as { child: import('node:child_process').ChildProcess }).child;
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    stream.destroy();
    expect(await exited).toBe('SIGTERM');
  });
});
