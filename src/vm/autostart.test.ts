import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  autostartDirs,
  autostartOff,
  autostartOn,
  autostartVms,
  checkAutostartUri,
  dropAutostartOf,
  quoteUnitArg,
  unitNameOf,
  unitText,
  vmOfUnitName,
  type SystemdState,
} from './autostart.js';

const noSystemd: SystemdState = { installed: true, running: false, userManager: false, linger: false };
let home: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'roost-autostart-'));
  env = { HOME: home, PATH: process.env.PATH };
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const on = async (vm: string, atBoot = false, systemd = noSystemd) =>
  autostartOn('qemu:///session', vm, atBoot, {
    env,
    node: '/usr/bin/node',
    cli: '/opt/roost/main.js',
    systemd,
    user: 'ann',
  });

/** ExecStart's arguments read back the way systemd splits a quoted command line (C escapes, %%, $$). */
function splitUnitArgs(line: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"/g;
  for (const m of line.matchAll(re)) {
    args.push(m[1]!.replace(/\\(.)/g, '$1').replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return args;
}

describe('the unit text', () => {
  it('starts and stops the VM with this node and roost build, on the same connection', async () => {
    const text = unitText({
      node: '/usr/bin/node',
      cli: '/opt/roost/main.js',
      uri: 'qemu:///session',
      vm: 'web',
    });
    const exec = /^ExecStart=(.*)$/m.exec(text)![1]!;
    expect(splitUnitArgs(exec)).toEqual([
      '/usr/bin/node',
      '/opt/roost/main.js',
      '--connect',
      'qemu:///session',
      'start',
      'web',
    ]);
    expect(splitUnitArgs(/^ExecStop=(.*)$/m.exec(text)![1]!).slice(2)).toEqual([
      '--connect',
      'qemu:///session',
      'stop',
      '--timeout',
      '240',
      'web',
    ]);
    expect(text).toMatch(/^TimeoutStopSec=300$/m);
    expect(text).toMatch(/^WantedBy=default\.target$/m);
    expect(text).toMatch(/^Type=oneshot$/m);
  });

  it('quotes spaces, quotes, backslashes, % and $ so that systemd reads each argument back unchanged', async () => {
    const odd = ['/home/a b/x"y\\z', '100%', '$HOME', "it's"];
    const quoted = odd.map(quoteUnitArg).join(' ');
    expect(splitUnitArgs(quoted)).toEqual(odd);
    expect(quoteUnitArg('100%')).toBe('"100%%"');
    expect(quoteUnitArg('$HOME')).toBe('"$$HOME"');
  });

  it('refuses a value with a line break or another control character (it would start a new directive)', async () => {
    for (const bad of ['a\nExecStartPre=/bin/sh', 'a\rb', 'a\x00b', 'a\x7fb']) {
      expect(() => quoteUnitArg(bad)).toThrow(
        expect.objectContaining({ code: 'AUTOSTART_UNSAFE_VALUE', exitCode: 2 }),
      );
    }
    expect(() =>
      unitText({ node: '/usr/bin/node', cli: '/opt/x', uri: 'qemu:///session?x=\n[Service]', vm: 'web' }),
    ).toThrow(/control character/);
  });

  it("escapes a % in the VM's name in Description (it expands specifiers too)", async () => {
    expect(unitText({ node: 'n', cli: 'c', uri: 'qemu:///session', vm: 'a%i' })).toMatch(
      /^Description=roost VM a%%i$/m,
    );
  });
});

describe('unit names', () => {
  it("keeps roost's own names and escapes what a unit name cannot hold, reversibly", async () => {
    expect(unitNameOf('web-1.dev_x')).toBe('roost-vm-web-1.dev_x.service');
    expect(unitNameOf('my vm')).toBe('roost-vm-my\\x20vm.service');
    expect(unitNameOf('.hidden')).toBe('roost-vm-\\x2ehidden.service');
    for (const vm of ['web', 'my vm', 'é\\x', '.a', 'a:b@c']) expect(vmOfUnitName(unitNameOf(vm))).toBe(vm);
    expect(vmOfUnitName('other.service')).toBeUndefined();
  });
});

describe('on, off, ls', () => {
  it('on writes a private unit and enables it as systemctl --user enable would (a relative link in default.target.wants)', async () => {
    const r = await on('web');
    const dirs = autostartDirs(env);
    expect(r.path).toBe(join(home, '.config/systemd/user/roost-vm-web.service'));
    expect(statSync(r.path).mode & 0o777).toBe(0o600);
    const link = join(dirs.wants, 'roost-vm-web.service');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('../roost-vm-web.service');
    expect(autostartVms(env)).toEqual(new Set(['web']));
    expect(r.warnings.join()).toMatch(/systemd is not running/);
  });

  it('follows XDG_CONFIG_HOME, as systemd does', async () => {
    env.XDG_CONFIG_HOME = join(home, 'cfg');
    expect((await on('web')).path).toBe(join(home, 'cfg/systemd/user/roost-vm-web.service'));
  });

  it('on twice rewrites its own unit; --at-boot prints the linger command only while lingering is off', async () => {
    await on('web');
    const r = await on('web', true);
    expect(r.lingerCommand).toBe('sudo loginctl enable-linger ann');
    expect((await on('web', true, { ...noSystemd, linger: true })).lingerCommand).toBeUndefined();
    expect((await on('web', false)).lingerCommand).toBeUndefined();
  });

  it('never overwrites or removes a unit of the same name that roost did not write', async () => {
    const { units } = autostartDirs(env);
    mkdirSync(units, { recursive: true });
    const mine = join(units, 'roost-vm-web.service');
    writeFileSync(mine, '[Service]\nExecStart=/bin/true\n');
    await expect(on('web')).rejects.toThrow(expect.objectContaining({ code: 'AUTOSTART_UNIT_EXISTS' }));
    expect(() => autostartOff('web', env)).toThrow(
      expect.objectContaining({ code: 'AUTOSTART_UNIT_NOT_OURS' }),
    );
    expect(readFileSync(mine, 'utf8')).toBe('[Service]\nExecStart=/bin/true\n');
    expect(autostartVms(env).size).toBe(0);
  });

  it('off removes the unit and its link; off again says there was nothing', async () => {
    const r = await on('web');
    await on('db');
    expect(autostartOff('web', env)).toEqual({ name: 'web', removed: true });
    expect(existsSync(r.path)).toBe(false);
    expect(existsSync(join(autostartDirs(env).wants, 'roost-vm-web.service'))).toBe(false);
    expect(autostartOff('web', env)).toEqual({ name: 'web', removed: false });
    expect(autostartVms(env)).toEqual(new Set(['db']));
  });

  it('ls counts only enabled units of roost (a written but unlinked unit does not start anything)', async () => {
    await on('web');
    rmSync(join(autostartDirs(env).wants, 'roost-vm-web.service'));
    expect(autostartVms(env).size).toBe(0);
  });

  it("rm's clean-up removes roost's unit of the VM on the local session only", async () => {
    await on('web');
    expect(dropAutostartOf('qemu+ssh://h/session', 'web', env)).toBe(false);
    expect(autostartVms(env)).toEqual(new Set(['web']));
    expect(dropAutostartOf('qemu:///session', 'web', env)).toBe(true);
    expect(autostartVms(env).size).toBe(0);
    expect(dropAutostartOf('qemu:///session', 'web', env)).toBe(false);
  });

  it('a host without systemd gets an error that says so, and nothing is written', async () => {
    await expect(on('web', false, { ...noSystemd, installed: false })).rejects.toThrow(
      expect.objectContaining({ code: 'AUTOSTART_NO_SYSTEMD' }),
    );
    expect(existsSync(join(home, '.config'))).toBe(false);
  });

  it('only a local session connection: a remote or system URI is a usage error', async () => {
    expect(() => checkAutostartUri('qemu:///session')).not.toThrow();
    for (const uri of ['qemu+ssh://h/session', 'qemu:///system']) {
      expect(() => checkAutostartUri(uri)).toThrow(
        expect.objectContaining({ code: 'AUTOSTART_NOT_LOCAL_SESSION', exitCode: 2 }),
      );
    }
  });
});
