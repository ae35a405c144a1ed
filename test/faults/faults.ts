// Tools of the fault-injection suite: the built CLI run as the test user with the step hook
// (ROOST_TEST_PAUSE_AT, src/vm/steps.ts) so a fault lands at an exact step boundary, the daemon found and
// stopped or killed, and an inventory of everything a VM leaves on the host to compare before and after.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CLI, assertBuilt } from '../harness/cli.js';
import {
  debianGuest,
  domainNames,
  listProcesses,
  poolNames,
  roost,
  spawnOptionsFor,
  tinyCreateArgs,
  tinyGuest,
  volumeNames,
  type RunResult,
  type TestUser,
} from '../harness/index.js';

/** `roost create` arguments for a VM that is made but never boots: disk, seed, define (the Debian image). */
export function unbootedArgs(user: TestUser): string[] {
  return ['--image', debianGuest(user).disk, '--no-start', '--wait', 'none', '--memory', '256M'];
}

/** … for a VM that starts: disk, define, start — the tiny guest with a forward from host `port`, so a passt runs. */
export function runningArgs(user: TestUser, port: number): string[] {
  return [
    ...tinyCreateArgs(tinyGuest(user)),
    '--disk',
    '16M',
    '--port',
    `127.0.0.1:${port}:80`,
    '--wait',
    'none',
  ];
}

/** A running `roost` whose stderr is watched for the step hook's markers. */
export interface HookedRun {
  child: ChildProcess;
  /** Resolves when stderr has shown `text` (a marker such as `paused before create:define`). */
  marker(text: string, timeoutMs?: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  /** Tells a paused command to go on (SIGUSR2). */
  resume(): void;
  done: Promise<RunResult>;
}

/** `env` adds to the user's (e.g. XDG_CACHE_HOME for a private image cache). */
export function runHooked(
  user: TestUser,
  args: string[],
  pauseAt: string,
  env: NodeJS.ProcessEnv = {},
): HookedRun {
  assertBuilt();
  const opts = spawnOptionsFor(user, { env: { ...env, ROOST_TEST_PAUSE_AT: pauseAt } });
  const child = spawn(process.execPath, [CLI, ...args], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
    for (const w of waiters.splice(0)) {
      if (stderr.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    done,
    marker: (text, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.includes(text)) return resolve();
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no '${text}' from roost ${args.join(' ')} in ${timeoutMs} ms; stderr:\n${stderr}`),
            ),
          timeoutMs,
        );
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
        void done.then(() =>
          reject(new Error(`roost ${args.join(' ')} ended before '${text}'; stderr:\n${stderr}`)),
        );
      }),
    signal: (sig) => child.kill(sig),
    resume: () => child.kill('SIGUSR2'),
  };
}

/** The user's session daemons (libvirtd or virtqemud) by pid. */
export function daemonPids(user: TestUser): number[] {
  return listProcesses()
    .filter((p) => p.uid === user.uid && /^(libvirtd|virtqemud)$/.test(p.comm))
    .map((p) => p.pid);
}

export function signalDaemons(user: TestUser, sig: NodeJS.Signals): void {
  for (const pid of daemonPids(user)) process.kill(pid, sig);
}

/** Makes sure a daemon answers (a CLI command autostarts one, as for a user) before virsh looks. */
export async function ensureDaemon(user: TestUser): Promise<void> {
  const r = await roost(user, ['ls']);
  expect(r.code, r.stderr).toBe(0);
}

export interface Inventory {
  domains: string[];
  volumes: string[];
  files: string[];
  processes: string[];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/**
 * Everything a VM can leave behind: domains and volumes (through virsh, an independent witness), roost's
 * files (disks, seeds, logs, sockets), libvirt's per-VM files (definitions, NVRAM, runtime state, QEMU logs),
 * and the user's passt and QEMU processes.
 */
export async function inventory(user: TestUser, uri: string): Promise<Inventory> {
  await ensureDaemon(user);
  const volumes: string[] = [];
  for (const pool of await poolNames(uri)) {
    for (const v of await volumeNames(uri, pool)) volumes.push(`${pool}/${v}`);
  }
  const rt = user.runtimeDir;
  const dirs = [
    join(user.home, '.local/share/roost/pool'),
    join(user.home, '.local/share/roost/seeds'),
    join(user.home, '.local/state/roost/logs'),
    join(rt, 'roost'),
    join(user.home, '.config/libvirt/qemu'),
    join(user.home, '.cache/libvirt/qemu/log'),
    join(rt, 'libvirt/qemu/run'),
  ];
  const daemonFiles = /\/(driver\.pid|autostarted)$/;
  return {
    domains: (await domainNames(uri)).sort(),
    volumes: volumes.sort(),
    files: dirs
      .flatMap(filesUnder)
      .filter((f) => !daemonFiles.test(f))
      .sort(),
    processes: listProcesses()
      .filter((p) => p.uid === user.uid && /^(passt|qemu)/.test(p.comm) && !isZombie(p.pid))
      .map((p) => `${p.comm} ${p.argv.join(' ')}`)
      .sort(),
  };
}

/** The user's processes whose command name matches `comm`, as `comm argv`; exited ones not yet reaped left out. */
export function processLines(user: TestUser, comm: RegExp): string[] {
  return listProcesses()
    .filter((p) => p.uid === user.uid && comm.test(p.comm) && !isZombie(p.pid))
    .map((p) => `${p.comm} ${p.argv.join(' ')}`)
    .sort();
}

/** An exited process its parent has not reaped yet holds nothing (no port, no file): not a leftover. */
function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}

/** What a failed command may say: never the transport's words twice, never a raw libvirt message. */
export function expectCleanMessage(stderr: string): void {
  expect(stderr).not.toMatch(/closed the connection: .*closed the connection/);
  expect(stderr).not.toMatch(/^roost: libvirt:/m);
  expect(stderr).not.toMatch(/INTERNAL|at .*\.js:\d+/);
}
