// Faults during `roost create`, each at an exact step boundary (the step hook, src/vm/steps.ts): Ctrl-C
// (SIGINT), SIGTERM, SIGHUP, a second Ctrl-C during the rollback, the session daemon killed with a call in
// flight, a stray passt holding a port, two creates of one name. After each: the exit code and message, an
// inventory of domains, volumes, files and processes equal to the one before, and a retry that succeeds.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  startSessionDaemon,
  freePort,
  harness,
  listProcesses,
  processesOf,
  roost,
  run,
  runAs,
  waitUntil,
} from '../harness/index.js';
import { CLI } from '../harness/cli.js';
import {
  ensureDaemon,
  expectCleanMessage,
  inventory,
  runHooked,
  signalDaemons,
  runningArgs,
  unbootedArgs,
  type Inventory,
} from './faults.js';

const { user, uri } = harness();
const scope = createScope('fault', user, uri);
let port: number;
let before: Inventory;

/** disk, seed, define — nothing boots. */
const seededArgs = () => unbootedArgs(user);
/** disk, define, start: the tiny guest with a forward (so a passt runs). */
const startArgs = () => runningArgs(user, port);

async function expectNothingLeft(): Promise<void> {
  expect(await inventory(user, uri)).toEqual(before);
}

/** The same create again works (the name, the port and the disk name are free), and rm takes it away. */
async function expectRetryWorks(name: string, args: string[]): Promise<void> {
  const again = await roost(user, ['create', name, ...args]);
  expect(again.code, again.stderr).toBe(0);
  const rm = await roost(user, ['rm', '--force', name]);
  expect(rm.code, rm.stderr).toBe(0);
  await expectNothingLeft();
}

beforeAll(async () => {
  port = await freePort();
  // A first create makes what every later one shares (the pool, roost's ssh key, the accel cache): the
  // inventory is taken after it.
  const warm = scope.name('warm');
  const warmed = await roost(user, ['create', warm, ...seededArgs()]);
  expect(warmed.code, warmed.stderr).toBe(0);
  expect((await roost(user, ['rm', warm])).code).toBe(0);
  before = await inventory(user, uri);
});
afterAll(async () => {
  signalDaemons(user, 'SIGCONT'); // should a test have failed between stopping and killing it
  await ensureDaemon(user);
  await scope.cleanup();
  // The daemon that runs now was started on demand, with an idle timeout: put a harness daemon (none) back for
  // the files that follow.
  await startSessionDaemon(user);
});

describe('Ctrl-C during create rolls back at the next step boundary', () => {
  it.each([
    ['check', seededArgs, []],
    ['disk', seededArgs, []],
    ['seed', seededArgs, ['disk']],
    ['define', seededArgs, ['seed', 'disk']],
    ['start', startArgs, ["VM '", 'disk']],
    ['done', startArgs, ['the running VM', "VM '", 'disk']],
  ] as const)('at create:%s', async (step, args, undone) => {
    const name = scope.name(`int-${step}`);
    const run = runHooked(user, ['create', name, ...args()], `create:${step}`);
    await run.marker(`paused before create:${step}`);
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('roost create was interrupted (SIGINT)');
    if (undone.length > 0) {
      const line = r.stderr.split('\n').find((l) => l.includes('rolled back:')) ?? '';
      for (const what of undone) expect(line).toContain(what);
      expect(r.stderr).toContain('nothing was left behind');
    }
    expectCleanMessage(r.stderr);
    await expectNothingLeft();
    await expectRetryWorks(name, args());
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s stops it the same way (exit %i)', async (sig, code) => {
    const name = scope.name(`sig-${sig.toLowerCase()}`);
    const run = runHooked(user, ['create', name, ...seededArgs()], 'create:define');
    await run.marker('paused before create:define');
    run.signal(sig);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain(`roost create was interrupted (${sig})`);
    await expectNothingLeft();
  });

  it('a second Ctrl-C stops the rollback and names what is left with the command that removes it', async () => {
    const name = scope.name('twice');
    const run = runHooked(user, ['create', name, ...startArgs()], 'create:done,create:rollback');
    await run.marker('paused before create:done');
    run.signal('SIGINT');
    await run.marker('paused before create:rollback');
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    const left = r.stderr.split('\n').filter((l) => l.includes('left behind:'));
    expect(left.length, r.stderr).toBeGreaterThan(0);
    // Each fix, run as the user, removes what it names: then nothing is left.
    for (const l of left) {
      const fix = /remove with: (.*)$/.exec(l)?.[1];
      expect(fix, l).toBeDefined();
      const [cmd, ...args] = fix!.split(' ');
      const prog = cmd === 'roost' ? process.execPath : cmd!;
      const argv = cmd === 'roost' ? [join(import.meta.dirname, '../../dist/cli/main.js'), ...args] : args;
      const done = await runAs(user, prog, argv, { check: false });
      expect(done.code, `${fix}: ${done.stderr}`).toBe(0);
    }
    await expectNothingLeft();
  });
});

describe('the daemon killed during create', () => {
  it.each([
    ['disk', seededArgs],
    ['define', seededArgs],
    ['start', startArgs],
  ] as const)(
    'with create:%s in flight: rolled back over a new daemon, with a plain message',
    async (step, args) => {
      const name = scope.name(`kill-${step}`);
      const run = runHooked(user, ['create', name, ...args()], `create:${step}`);
      await run.marker(`paused before create:${step}`);
      // Stopped first, so the step's call is surely on its way and unanswered when the daemon dies.
      signalDaemons(user, 'SIGSTOP');
      run.resume();
      await run.marker(`in create:${step}`);
      signalDaemons(user, 'SIGKILL');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/the libvirt daemon went away while/);
      expectCleanMessage(r.stderr);
      await expectNothingLeft();
      await expectRetryWorks(name, args());
    },
  );

  it('after it started passt: the passt is ended, and the port is free for the retry', async () => {
    const name = scope.name('kill-passt');
    const run = runHooked(user, ['create', name, ...startArgs()], 'create:start');
    await run.marker('paused before create:start');
    run.resume();
    const passtOf = () =>
      processesOf(user.uid, /^passt/).filter((p) => p.argv.some((a) => a.includes(name.slice(0, 20))));
    await waitUntil(() => passtOf().length > 0, 30_000, 5);
    signalDaemons(user, 'SIGKILL');
    const r = await run.done;
    expectCleanMessage(r.stderr);
    if (r.code === 0) {
      // The start was answered before the daemon died: the VM is made, and rm takes all of it away.
      expect((await roost(user, ['rm', '--force', name])).code).toBe(0);
    } else {
      expect(r.code, r.stderr).toBe(1);
    }
    await expectNothingLeft();
    await expectRetryWorks(name, startArgs());
  });
});

describe('leftovers of an earlier failure', () => {
  it('a stray passt of a VM that no longer runs (PPID 1, holding the port) is ended before create binds', async () => {
    const sock = join(user.runtimeDir, 'libvirt/qemu/run/passt', `97-${scope.name('ghost')}-net0.socket`);
    // passt forks into the background, as it does for libvirt: its parent is gone once it listens.
    const started = await runAs(
      user,
      'passt',
      ['--one-off', '--socket', sock, '-t', `127.0.0.1/${port}:80`],
      {
        check: false,
      },
    );
    expect(started.code, started.stderr).toBe(0);
    const ghost = () => listProcesses().filter((p) => p.argv.includes(sock));
    try {
      expect(ghost().length).toBe(1);
      const name = scope.name('after-ghost');
      const r = await roost(user, ['create', name, ...startArgs(), '--no-start']);
      expect(r.code, r.stderr).toBe(0);
      expect(await waitUntil(() => ghost().length === 0, 5_000)).toBe(true);
      expect((await roost(user, ['rm', name])).code).toBe(0);
    } finally {
      for (const p of ghost()) process.kill(p.pid, 'SIGKILL'); // should the test have failed
      rmSync(sock, { force: true });
    }
    await expectNothingLeft();
  });
});

describe('two creates of one name at once', () => {
  it('the loser says the name is taken (exit 2) and leaves nothing, not even deleting the winner’s disk', async () => {
    const name = scope.name('race');
    const a = runHooked(user, ['create', name, ...seededArgs()], 'create:define');
    const b = runHooked(user, ['create', name, ...seededArgs()], 'create:define');
    // Both passed every check (the name was free for both) before either claims it.
    await Promise.all([a.marker('paused before create:define'), b.marker('paused before create:define')]);
    a.resume();
    b.resume();
    const results = await Promise.all([a.done, b.done]);
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code !== 0);
    expect(winners.length, results.map((r) => r.stderr).join('\n')).toBe(1);
    expect(losers[0]!.code, losers[0]!.stderr).toBe(2);
    expect(losers[0]!.stderr).toMatch(new RegExp(`a VM named '${name}' already exists`));
    expectCleanMessage(losers[0]!.stderr);
    // The winner's VM is whole: it starts from its disk.
    const inv = await inventory(user, uri);
    expect(inv.domains).toContain(name);
    expect(inv.volumes).toContain(`roost/${name}.qcow2`);
    expect(inv.files).toContain(join(user.home, '.local/share/roost/seeds', `${name}.iso`));
    expect((await roost(user, ['rm', name])).code).toBe(0);
    await expectNothingLeft();
  });
});

describe('a full disk', () => {
  // A small tmpfs the test mounts (root only) as the data directory: the seed cannot be written there, while the
  // VM's disk goes to roost's pool as defined before.
  it.skipIf(process.getuid?.() !== 0)(
    'a seed that cannot be written (ENOSPC) rolls back the disk',
    async () => {
      const full = join(scope.dir, 'full');
      mkdirSync(full);
      await run('mount', [
        '-t',
        'tmpfs',
        '-o',
        `size=64k,mode=0700,uid=${user.uid},gid=${user.gid}`,
        'tmpfs',
        full,
      ]);
      try {
        await runAs(user, 'dd', ['if=/dev/zero', `of=${join(full, 'filler')}`, 'bs=4k'], { check: false });
        const name = scope.name('full');
        const r = await runAs(user, process.execPath, [CLI, 'create', name, ...seededArgs()], {
          env: { XDG_DATA_HOME: full },
          check: false,
        });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/ENOSPC|no space/i);
        expect(r.stderr).toContain('rolled back: disk');
        expect(await inventory(user, uri)).toEqual(before);
      } finally {
        await run('umount', [full], { check: false });
      }
    },
  );
});
