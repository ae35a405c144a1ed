// The session daemon's life as roost's client sees it, run as the unprivileged test user with the default URI
// (qemu:///session, no ?socket=): autostart, a daemon killed under a pending call, the next call starting a new
// daemon, and two processes racing to start one.
//
// These tests kill and start daemons, so they never touch the shared harness daemon: each scenario gives the
// test user a private XDG_RUNTIME_DIR (and config and cache dirs) inside the scope directory. libvirt derives
// the socket, the pid file and the autostart lock from those, so the daemons started here are fully separate
// from the harness's, and everything they leave is removed with the scope.
import { chownSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createScope,
  harness,
  isAlive,
  processesOf,
  runAs,
  uidOf,
  waitUntil,
  type RunResult,
} from '../harness/index.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const roostIndex = pathToFileURL(join(repoRoot, 'src', 'index.ts')).href;

const { user, uri, daemonPid } = harness();
const scope = createScope('lvdaemon', user, uri);

afterAll(async () => {
  await stopDaemonsUnder(scope.dir);
  await scope.cleanup();
});

/** A directory owned by the test user, mode 0700 (libvirt insists on that for runtime dirs). */
function userDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(path, user.uid, user.gid);
  return path;
}

/** The environment of a login of the test user whose runtime dir is `rt`, with config/cache beside it. */
function envFor(rt: string): NodeJS.ProcessEnv {
  return {
    XDG_RUNTIME_DIR: rt,
    XDG_CONFIG_HOME: userDir(join(scope.dir, 'config')),
    XDG_CACHE_HOME: userDir(join(scope.dir, 'cache')),
    ROOST_INDEX: roostIndex,
  };
}

/** Runs an ES module snippet with roost's sources (through tsx) as the test user. */
function runScript(code: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return runAs(user, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env,
    cwd: repoRoot, // so that --import tsx resolves to this repo's node_modules
    timeoutMs: 90_000,
  });
}

function environOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The test user's libvirtd processes whose XDG_RUNTIME_DIR is `rt` (or lies under `rt` with `prefix`). */
function daemonsIn(rt: string, prefix = false): number[] {
  return processesOf(user.uid, /^libvirtd$/)
    .filter((p) =>
      environOf(p.pid).some((v) =>
        prefix ? v.startsWith(`XDG_RUNTIME_DIR=${rt}`) : v === `XDG_RUNTIME_DIR=${rt}`,
      ),
    )
    .map((p) => p.pid);
}

async function stopDaemonsUnder(dir: string): Promise<void> {
  const pids = daemonsIn(dir, true);
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const gone = await waitUntil(() => pids.every((p) => !isAlive(p)), 10_000);
  if (!gone) for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
}

function lastJson<T>(r: RunResult): T {
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`child printed no result; stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

// Run as the test user: connect with the default URI (autostarting libvirtd), then ROUNDS times: freeze the
// daemon (and wait until the kernel says it is stopped), issue a call, kill the daemon, await the rejection and
// make one more call, which must start a new daemon. A daemon killed a moment ago still accepts connections for
// a short while and then resets them, so the call right after the kill is the one that used to fail: looping
// makes that interleaving come up every run. Escaped exceptions and rejections are reported, not crashed on.
const KILL_SCRIPT = `
import { readFileSync } from 'node:fs';
const { connect, ConnectionClosedError } = await import(process.env.ROOST_INDEX);
const escaped = [];
process.on('uncaughtException', (e) => escaped.push('uncaught ' + (e && e.stack)));
process.on('unhandledRejection', (e) => escaped.push('unhandled ' + (e && e.stack)));
const pidFile = process.env.XDG_RUNTIME_DIR + '/libvirt/libvirtd.pid';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stateOf = (pid) => readFileSync('/proc/' + pid + '/stat', 'utf8').replace(/^.*\\) /, '')[0];
const out = { rounds: [], escaped };
const client = await connect();
out.uri = await client.uri();
for (let i = 0; i < Number(process.env.ROUNDS); i++) {
  const r = { pid: Number(readFileSync(pidFile, 'utf8')) };
  process.kill(r.pid, 'SIGSTOP');
  while (stateOf(r.pid) !== 'T') await sleep(1);
  let settled = false;
  const pending = client.hostname().finally(() => (settled = true));
  pending.catch(() => {});
  await sleep(100);
  r.pendingWhileStopped = !settled;
  const t0 = performance.now();
  process.kill(r.pid, 'SIGKILL');
  try {
    await pending;
    r.outcome = 'resolved';
  } catch (e) {
    r.outcome = e instanceof ConnectionClosedError ? 'ConnectionClosedError' : String(e && e.name) + ': ' + e.message;
  }
  r.rejectMs = performance.now() - t0;
  try {
    r.hostname = await client.hostname();
  } catch (e) {
    r.hostname = 'FAILED ' + (e && e.message);
  }
  r.nextPid = Number(readFileSync(pidFile, 'utf8'));
  out.rounds.push(r);
}
await client.close();
console.log(JSON.stringify(out));
`;

// Run as the test user, twice at once: wait for a common start time, connect with the default URI, and report
// which daemon answered.
const RACE_SCRIPT = `
import { readFileSync } from 'node:fs';
const { connect } = await import(process.env.ROOST_INDEX);
const at = Number(process.env.ROOST_START_AT);
while (Date.now() < at) await new Promise((r) => setTimeout(r, 1));
const started = Date.now();
const client = await connect();
const hostname = await client.hostname();
const pid = Number(readFileSync(process.env.XDG_RUNTIME_DIR + '/libvirt/libvirtd.pid', 'utf8'));
await client.close();
console.log(JSON.stringify({ pid, hostname, lateMs: started - at }));
`;

describe('session daemon autostart, as the test user', () => {
  it('leaves the shared harness daemon alone', () => {
    expect(isAlive(daemonPid)).toBe(true);
  });

  it('rejects a call pending on a killed daemon at once, and the next call starts a new daemon (8 rounds)', async () => {
    const rt = userDir(join(scope.dir, 'rt-kill'));
    const rounds = 8;
    const r = lastJson<{
      uri: string;
      escaped: string[];
      rounds: {
        pid: number;
        pendingWhileStopped: boolean;
        outcome: string;
        rejectMs: number;
        hostname: string;
        nextPid: number;
      }[];
    }>(await runScript(KILL_SCRIPT, { ...envFor(rt), ROUNDS: String(rounds) }));

    expect(r.uri).toBe('qemu:///session');
    expect(r.escaped).toEqual([]);
    expect(r.rounds).toHaveLength(rounds);
    for (const round of r.rounds) {
      expect(round.pendingWhileStopped).toBe(true);
      expect(round.outcome).toBe('ConnectionClosedError');
      expect(round.rejectMs).toBeLessThan(1_000);
      expect(round.hostname).not.toMatch(/^FAILED/);
      expect(round.hostname.length).toBeGreaterThan(0);
      expect(round.nextPid).not.toBe(round.pid);
      expect(isAlive(round.pid)).toBe(false);
    }
    const last = r.rounds.at(-1)!.nextPid;
    // The new daemon is the test user's, started by our autostart (libvirt's --timeout=120), for this runtime dir.
    expect(uidOf(last)).toBe(user.uid);
    expect(readFileSync(`/proc/${last}/cmdline`, 'utf8').split('\0')).toContain('--timeout=120');
    expect(daemonsIn(rt)).toEqual([last]);
    await stopDaemonsUnder(rt);
    expect(daemonsIn(rt)).toEqual([]);
  });

  it('starts only one daemon when two processes connect at once', async () => {
    for (let round = 0; round < 3; round++) {
      const rt = userDir(join(scope.dir, `rt-race${round}`));
      expect(daemonsIn(rt)).toEqual([]);
      const env = { ...envFor(rt), ROOST_START_AT: String(Date.now() + 3_000) };
      // Every daemon that shows up for this runtime dir while the two race, even one that quits at once.
      const seen = new Set<number>();
      const watch = setInterval(() => daemonsIn(rt).forEach((pid) => seen.add(pid)), 2);
      let results: RunResult[];
      try {
        results = await Promise.all([runScript(RACE_SCRIPT, env), runScript(RACE_SCRIPT, env)]);
      } finally {
        clearInterval(watch);
      }
      const [a, b] = results.map((x) => lastJson<{ pid: number; hostname: string; lateMs: number }>(x));
      // Both really started together (node start-up fits in the 3 s head start) …
      expect(a!.lateMs).toBeLessThan(100);
      expect(b!.lateMs).toBeLessThan(100);
      // … and were served by the same, single daemon; no second one was seen starting.
      expect(a!.pid).toBe(b!.pid);
      expect(daemonsIn(rt)).toEqual([a!.pid]);
      expect([...seen]).toEqual([a!.pid]);
      expect(uidOf(a!.pid)).toBe(user.uid);
      await stopDaemonsUnder(rt);
    }
  });
});
