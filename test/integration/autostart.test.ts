// roost autostart on|off|ls as the test user, against the real session daemon: the unit roost writes passes
// `systemd-analyze verify --user`, and its ExecStart/ExecStop — run exactly as systemd would split them — start
// and stop the VM. (No systemd runs on the test machines: the unit is checked, not started by a user manager.)
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  freePort,
  harness,
  roost,
  roostJson,
  runAs,
  tinyPageAnswers,
  tinyCreateArgs,
  tinyGuest,
  waitUntil,
  type RunResult,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('autostart', user, uri);
const name = scope.name('vm');
const unitDir = join(user.home, '.config', 'systemd', 'user');
const unitPath = join(unitDir, `roost-vm-${name}.service`);
const linkPath = join(unitDir, 'default.target.wants', `roost-vm-${name}.service`);
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** A unit's Exec line split the way systemd splits it: double-quoted words, C escapes, %% and $$ undone. */
function execArgs(unit: string, key: 'ExecStart' | 'ExecStop'): string[] {
  const line = new RegExp(`^${key}=(.*)$`, 'm').exec(unit)![1]!;
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) =>
    m[1]!.replace(/\\(.)/g, '$1').replace(/%%/g, '%').replace(/\$\$/g, '$'),
  );
}

const state = async () =>
  (await roostJson<{ name: string; state: string }[]>(user, ['ls'])).find((v) => v.name === name)?.state;

let port: number;

beforeAll(async () => {
  port = await freePort();
  const r = await roost(user, [
    'create',
    name,
    ...tinyCreateArgs(tinyGuest(user)),
    '--port',
    `127.0.0.1:${port}:80`,
    '--no-start',
    '--wait',
    'none',
  ]);
  expect(r.code, text(r)).toBe(0);
});
afterAll(async () => {
  await roost(user, ['autostart', 'off', name]);
  await scope.cleanup();
});

describe('roost autostart', () => {
  it('on a VM that does not exist: "no VM named", and no unit is written', async () => {
    const ghost = scope.name('ghost');
    const r = await roost(user, ['autostart', 'on', ghost]);
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toContain(`no VM named '${ghost}'`);
    expect(existsSync(join(unitDir, `roost-vm-${ghost}.service`))).toBe(false);
  });

  it('refuses a remote connection before dialling it (exit 2)', async () => {
    const r = await roost(user, [
      '--connect',
      'qemu+ssh://nobody@192.0.2.1/session',
      'autostart',
      'on',
      name,
    ]);
    expect(r.code, text(r)).toBe(2);
    expect(r.stderr).toMatch(/not of qemu\+ssh/);
  });

  it('on writes a private, enabled unit that systemd-analyze verify accepts, and says systemd is not running here', async () => {
    const r = await roost(user, ['autostart', 'on', name, '--at-boot', '--json']);
    expect(r.code, text(r)).toBe(0);
    const out = JSON.parse(r.stdout) as { path: string; atBoot: boolean; lingerCommand?: string };
    expect(out.path).toBe(unitPath);
    expect(out.lingerCommand).toBe(`sudo loginctl enable-linger ${user.name}`);
    expect(r.stderr).toMatch(/systemd is not running on this host/);
    expect(statSync(unitPath).mode & 0o777).toBe(0o600);
    expect(statSync(unitPath).uid).toBe(user.uid);
    expect(lstatSync(linkPath).isSymbolicLink()).toBe(true);

    const verify = await runAs(user, 'systemd-analyze', ['verify', '--user', unitPath], { check: false });
    expect(verify.code, text(verify)).toBe(0);

    const ls = await roostJson<{ vms: string[] }>(user, ['autostart', 'ls']);
    expect(ls.vms).toContain(name);
  });

  it("the unit's ExecStart starts the VM and its ExecStop stops it", async () => {
    const unit = readFileSync(unitPath, 'utf8');
    const [start, ...startArgs] = execArgs(unit, 'ExecStart');
    expect(startArgs.slice(-2)).toEqual(['start', name]);
    const started = await runAs(user, start!, startArgs, { check: false });
    expect(started.code, text(started)).toBe(0);
    expect(await state()).toBe('running');
    // The guest listens for the power button once it has booted: the stop is tried on a booted guest.
    expect(await tinyPageAnswers(port, 120_000)).toBe(true);

    const [stop, ...stopArgs] = execArgs(unit, 'ExecStop');
    const stopped = await runAs(user, stop!, stopArgs, { check: false, timeoutMs: 180_000 });
    expect(stopped.code, text(stopped)).toBe(0);
    expect(await waitUntil(async () => (await state()) === 'shutoff', 60_000)).toBe(true);
  }, 240_000);

  it('off removes unit and link; a second off has nothing to do', async () => {
    const r = await roostJson<{ removed: boolean }>(user, ['autostart', 'off', name]);
    expect(r.removed).toBe(true);
    expect(existsSync(unitPath)).toBe(false);
    expect(existsSync(linkPath)).toBe(false);
    expect((await roostJson<{ removed: boolean }>(user, ['autostart', 'off', name])).removed).toBe(false);
  });

  it('roost rm takes the unit with the VM', async () => {
    expect((await roost(user, ['autostart', 'on', name])).code).toBe(0);
    const r = await roost(user, ['rm', name]);
    expect(r.code, text(r)).toBe(0);
    expect(existsSync(unitPath)).toBe(false);
    expect(existsSync(linkPath)).toBe(false);
  });
});
