// roost metadata is untrusted: any domain in the session may carry it (virt-manager, a file someone sent). A
// domain whose ssh-user smuggles `Host *` and a ProxyCommand must not get a line into the ssh config roost
// writes when another VM is created or removed — `ssh -G` of any other host shows no ProxyCommand, the user's
// own entries and the good VM's block stay exact, and the bad VM is named in a warning (docs/networking.md).
// The same domain's serial log holds escape sequences: `roost logs` on a terminal must not pass them on.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roostPaths } from '../../src/paths.js';
import {
  CLI,
  createScope,
  freePort,
  harness,
  roost,
  runAs,
  tinyCreateArgs,
  tinyGuest,
  userEnv,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('sshmeta', user, uri);
const paths = roostPaths(userEnv(user));
const evil = scope.name('evil');
const good = scope.name('good');
const userConfig = join(user.home, '.ssh', 'config');
let savedUserConfig: string | undefined;

const serialLog = join(scope.dir, 'evil.serial.log');
// What a guest may print on its serial console: a clipboard write (OSC 52), a screen clear, a title, colours.
const SERIAL =
  'boot ok\r\n\x1b]52;c;dG91Y2ggL3RtcC94\x07\x1b[2J\x1b]0;pwned\x07login: \x1b[31mred\x1b[0m\r\n';
const PAYLOAD = 'bob\nHost *\n  ProxyCommand touch /tmp/x';
const xmlText = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('\n', '&#10;');

function evilXml(port: number): string {
  return `<domain type='qemu'>
  <name>${evil}</name>
  <metadata>
    <roost:vm xmlns:roost="https://roost.dev/xmlns/vm/1">
      <roost:created-by>roost 0.1.0</roost:created-by>
      <roost:ssh-user>${xmlText(PAYLOAD)}</roost:ssh-user>
      <roost:ssh-key-path>${xmlText('/tmp/k\nHost *\n  ProxyCommand touch /tmp/y')}</roost:ssh-key-path>
    </roost:vm>
  </metadata>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <serial type='pty'><log file='${serialLog}' append='on'/><target port='0'/></serial>
    <interface type='user'><backend type='passt'/><model type='virtio'/>
      <portForward proto='tcp' address='127.0.0.1'><range start='${port}' to='22'/></portForward>
    </interface>
  </devices>
</domain>
`;
}

/** Runs argv on a pseudo-terminal, copying its output to stdout; exits with its exit code. */
const PTY_RUN = 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))';

/** `ssh -G` as the test user: the options ssh would use for `host` with the user's own config. */
async function sshG(host: string): Promise<Map<string, string>> {
  const r = await runAs(user, 'ssh', ['-G', '-F', userConfig, host]);
  return new Map(
    r.stdout
      .split('\n')
      .filter((l) => l.includes(' '))
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as [string, string]),
  );
}

function writeAsUser(file: string, text: string): void {
  mkdirSync(join(user.home, '.ssh'), { recursive: true, mode: 0o700 });
  chownSync(join(user.home, '.ssh'), user.uid, user.gid);
  writeFileSync(file, text, { mode: 0o600 });
  chownSync(file, user.uid, user.gid);
}

beforeAll(async () => {
  savedUserConfig = existsSync(userConfig) ? readFileSync(userConfig, 'utf8') : undefined;
  writeAsUser(userConfig, 'Host myserver\n  HostName 192.0.2.10\n  User me\n');
  writeFileSync(serialLog, SERIAL);
  chownSync(serialLog, user.uid, user.gid);
  const file = join(scope.dir, 'evil.xml');
  writeFileSync(file, evilXml(await freePort()));
  chmodSync(file, 0o644);
  await runAs(user, 'virsh', ['-c', 'qemu:///session', 'define', file]);
});

afterAll(async () => {
  await scope.cleanup();
  if (savedUserConfig === undefined) writeAsUser(userConfig, '');
  else writeAsUser(userConfig, savedUserConfig);
});

describe('a domain whose roost metadata tries to write into the ssh config', () => {
  let goodPort: number;

  it('create of another VM writes the good block, leaves the bad VM out and says why', async () => {
    const base = join(scope.dir, 'base.qcow2');
    await runAs(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', base, '32M']);
    goodPort = await freePort();
    const r = await roost(user, [
      'create',
      good,
      '--image',
      base,
      '--no-cloud-init',
      ...tinyCreateArgs(tinyGuest(user)),
      '--disk',
      '64M',
      '--user',
      'debian',
      '--port',
      `127.0.0.1:${goodPort}:22`,
      '--no-start',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`ssh config: VM '${evil}' left out: its roost metadata is refused`);
    expect(r.stderr).toMatch(/ssh-user: not a user name/);
    expect(r.stderr).toMatch(/ssh-key-path: contains a control character/);

    const include = readFileSync(join(paths.data, 'ssh', 'config'), 'utf8');
    expect(include).not.toMatch(/ProxyCommand|Host \*|bob/);
    expect(readFileSync(userConfig, 'utf8')).toContain('Host myserver\n  HostName 192.0.2.10\n  User me\n');
  });

  it('ssh -G of an unrelated host shows no ProxyCommand; the user’s and the good VM’s entries are exact', async () => {
    const other = await sshG('unrelated.example.org');
    expect(other.get('proxycommand')).toBeUndefined();
    expect(other.get('user')).not.toBe('bob');
    const mine = await sshG('myserver');
    expect(mine.get('hostname')).toBe('192.0.2.10');
    expect(mine.get('user')).toBe('me');
    expect(mine.get('proxycommand')).toBeUndefined();
    const vm = await sshG(`${good}.roost`);
    expect(vm.get('hostname')).toBe('127.0.0.1');
    expect(vm.get('port')).toBe(String(goodPort));
    expect(vm.get('user')).toBe('debian');
    const bad = await sshG(`${evil}.roost`);
    expect(bad.get('hostname')).toBe(`${evil}.roost`); // no block: ssh knows nothing of it
    expect(bad.get('proxycommand')).toBeUndefined();
  });

  it('roost ssh refuses the VM with the refused metadata instead of guessing a user', async () => {
    const r = await roost(user, ['ssh', evil, '--', 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot ssh into VM .*roost metadata is refused/);
    expect(r.stderr).not.toContain('\nHost *');
  });

  it('roost logs: a terminal gets the serial log without its escape sequences; a pipe and --raw get the bytes', async () => {
    // A real terminal: python's pty module runs roost on a pseudo-terminal and copies what it prints.
    const onTty = (args: string[]) =>
      runAs(user, '/usr/bin/python3', ['-c', PTY_RUN, process.execPath, CLI, ...args], { check: false });
    const clean = await onTty(['logs', evil]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('boot ok');
    expect(clean.stdout).toContain('login: red');
    expect(clean.stdout).not.toContain('\x1b');
    expect(clean.stdout).not.toContain('\x07');
    const raw = await onTty(['logs', '--raw', evil]);
    expect(raw.stdout).toContain('\x1b]52;c;dG91Y2ggL3RtcC94\x07');
    const piped = await roost(user, ['logs', evil]);
    expect(piped.stdout).toBe(SERIAL);
  });

  it('rm of the good VM rewrites the file without the bad VM, still with no ProxyCommand', async () => {
    const r = await roost(user, ['rm', '--force', good]);
    expect(r.code, r.stderr).toBe(0);
    const include = readFileSync(join(paths.data, 'ssh', 'config'), 'utf8');
    expect(include).not.toMatch(/ProxyCommand|Host \*|bob/);
    expect((await sshG('unrelated.example.org')).get('proxycommand')).toBeUndefined();
    expect((await sshG('myserver')).get('user')).toBe('me');
  });
});
