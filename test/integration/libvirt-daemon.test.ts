// The session daemon's life as roost's client sees it, run as the unprivileged test user with the default URI
// (qemu:///session, no ?socket=): autostart, a daemon killed under a pending call, the next call starting a new
// daemon, and two processes racing to start one.
//
// These tests kill and start daemons, so they never touch the shared harness daemon: each scenario gives the
// test user a private XDG_RUNTIME_DIR (and config and cache dirs) inside the scope directory. libvirt derives
// the socket, the pid file and the autostart lock from those, so the daemons started here are fully separate
// from the harness's, and everything they leave is removed with the scope.
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createScope,
  harness,
  isAlive,
  liveDaemonPid,
  processesOf,
  runAs,
  tinyGuest,
  uidOf,
  waitUntil,
  type RunResult,
} from '../harness/index.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const roostIndex = pathToFileURL(join(repoRoot, 'src', 'index.ts')).href;

const { user, uri } = harness();
// The shared daemon as this file starts (an earlier file may have replaced global setup's: test/faults).
const sharedDaemon = liveDaemonPid(user);
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
    throw new Error(
      `child printed no result (exit ${r.code}, signal ${r.signal}); stdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  }
}

// Run as the test user: connect with the default URI (autostarting libvirtd), then ROUNDS times: freeze the
// daemon (and wait until the kernel says it is stopped), issue a call, kill the daemon, await the rejection and
// make one more call, which must start a new daemon. A daemon killed a moment ago still accepts connections for
// a short while and then resets them — at the handshake, or already at the connect — so the call right after the
// kill is the one that used to fail: looping makes those interleavings come up. Escaped exceptions and rejections
// are reported, not crashed on.
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
try {
  await run();
} catch (e) {
  out.error = String(e && e.stack);
}
console.log(JSON.stringify(out));

async function run() {
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
    // No new daemon answered, so the pid file still names the dead one: report this round, not a next one.
    r.hostname = 'FAILED ' + (e && e.message);
    out.rounds.push(r);
    break;
  }
  r.nextPid = Number(readFileSync(pidFile, 'utf8'));
  out.rounds.push(r);
}
await client.close();
}
`;

// Run as the test user: boot the tiny guest on a daemon of its own, attach roost's console, kill the daemon
// under it (roost must say the daemon went away, not that the VM stopped), then attach again through the next
// daemon. The killed daemon's console lock (/run/lock/LCK.._pts_N) stays behind; its PID is given to a live
// process that is no libvirt daemon (this script), as when the PID is reused after the kill, which libvirt itself
// takes for a held lock. roost must remove the lock, say so, and attach.
const CONSOLE_SCRIPT = `
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
const root = process.env.ROOST_ROOT;
const { connect } = await import(root + '/src/index.ts');
const { attachConsole } = await import(root + '/src/vm/console.ts');
const { tinyDomainXml } = await import(root + '/scripts/lib/tiny-domain-xml.ts');
const escaped = [];
process.on('uncaughtException', (e) => escaped.push('uncaught ' + (e && e.stack)));
process.on('unhandledRejection', (e) => escaped.push('unhandled ' + (e && e.stack)));
const pidFile = process.env.XDG_RUNTIME_DIR + '/libvirt/libvirtd.pid';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = { escaped, notices: [] };
const client = await connect();
const ctx = { client, uri: 'qemu:///session', env: process.env, paths: {}, close: () => client.close() };
const name = process.env.VM_NAME;
// No NIC: this daemon's runtime dir (inside the scope) is too long for passt's socket path, and no test here
// needs a network.
const xml = tinyDomainXml({ name, kernel: process.env.KERNEL, initrd: process.env.INITRD, cmdline: process.env.CMDLINE, forwards: [] })
  .replace(/<interface[\\s\\S]*?<\\/interface>/, '');
let dom = await client.defineDomain(xml);
try {
  await run();
} catch (e) {
  out.error = String(e && e.stack);
} finally {
  await client.destroyDomain(dom).catch(() => {});
  await client.undefineDomain(dom).catch(() => {});
  await client.close();
}
console.log(JSON.stringify(out));

async function run() {
  await client.startDomain(dom);
  const pty = /<console type=.pty.[^>]*>\\s*<source path=.([^'"]+)/.exec(await client.getXml(dom))[1];
  out.lock = '/run/lock/LCK..' + pty.replace(/^\\/dev/, '').replaceAll('/', '_');
  const attach = () => {
    const io = { input: new PassThrough(), output: new PassThrough(), notice: (m) => out.notices.push(m) };
    let bytes = 0;
    io.output.on('data', (b) => (bytes += b.length));
    const ended = attachConsole(ctx, name, io).then((why) => ({ why }), (e) => ({ code: e.code, message: e.message, hint: e.hint }));
    return { io, ended, bytes: () => bytes };
  };
  const first = attach();
  // Attached once libvirt has locked the PTY.
  for (let i = 0; i < 200 && !existsSync(out.lock); i++) await sleep(100);
  out.firstDaemon = Number(readFileSync(pidFile, 'utf8'));
  out.lockWhileAttached = existsSync(out.lock) ? readFileSync(out.lock, 'utf8').trim() : null;
  process.kill(out.firstDaemon, 'SIGKILL');
  out.firstEnd = await first.ended;
  out.lockAfterKill = existsSync(out.lock) ? readFileSync(out.lock, 'utf8').trim() : null;
  // The dead daemon's PID, reused by a process that is no libvirt daemon.
  if (out.lockAfterKill !== null) writeFileSync(out.lock, String(process.pid).padStart(10) + '\\n');
  const second = attach();
  await sleep(2000);
  out.secondDaemon = Number(readFileSync(pidFile, 'utf8'));
  out.lockWhileReattached = existsSync(out.lock) ? readFileSync(out.lock, 'utf8').trim() : null;
  second.io.input.write(Buffer.from([0x1d]));
  out.secondEnd = await second.ended;
  out.running = await client.isActive(dom);
}
`;

// Run as the test user, twice at once: say it is ready (its imports done), wait for the test's go, connect with
// the default URI, and report which daemon answered. A barrier rather than a start time: a loaded host may take
// seconds to start node, and the race must still be a race.
const RACE_SCRIPT = `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const { connect } = await import(process.env.ROOST_INDEX);
writeFileSync(process.env.ROOST_READY_FILE, '');
while (!existsSync(process.env.ROOST_GO_FILE)) await new Promise((r) => setTimeout(r, 1));
const started = Date.now();
const client = await connect();
const hostname = await client.hostname();
const pid = Number(readFileSync(process.env.XDG_RUNTIME_DIR + '/libvirt/libvirtd.pid', 'utf8'));
await client.close();
console.log(JSON.stringify({ pid, hostname, started }));
`;

describe('session daemon autostart, as the test user', () => {
  it('rejects a call pending on a killed daemon at once, and the next call starts a new daemon (8 rounds)', async () => {
    const rt = userDir(join(scope.dir, 'rt-kill'));
    const rounds = 8;
    const r = lastJson<{
      error?: string;
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

    expect(r.error).toBeUndefined();
    expect(r.uri).toBe('qemu:///session');
    expect(r.escaped).toEqual([]);
    for (const round of r.rounds) {
      expect(round.pendingWhileStopped).toBe(true);
      expect(round.outcome).toBe('ConnectionClosedError');
      expect(round.rejectMs).toBeLessThan(1_000);
      expect(round.hostname).not.toMatch(/^FAILED/);
      expect(round.hostname.length).toBeGreaterThan(0);
      expect(round.nextPid).not.toBe(round.pid);
      expect(isAlive(round.pid)).toBe(false);
    }
    expect(r.rounds).toHaveLength(rounds);
    const last = r.rounds.at(-1)!.nextPid;
    // The new daemon is the test user's, started by our autostart (libvirt's --timeout=120), for this runtime dir.
    expect(uidOf(last)).toBe(user.uid);
    expect(readFileSync(`/proc/${last}/cmdline`, 'utf8').split('\0')).toContain('--timeout=120');
    expect(daemonsIn(rt)).toEqual([last]);
    await stopDaemonsUnder(rt);
    expect(daemonsIn(rt)).toEqual([]);
  });

  it('a console whose daemon is killed says so, and the next console clears the stale PTY lock', async () => {
    // QEMU's monitor socket lives under $XDG_CONFIG_HOME/libvirt/qemu/lib/domain-ID-NAME/: the scope's dir is too
    // long for a UNIX socket path there, so this daemon's dirs sit in a short temporary one.
    const short = mkdtempSync('/tmp/rl-');
    chownSync(short, user.uid, user.gid);
    const rt = userDir(join(short, 'rt'));
    const guest = tinyGuest(user);
    const r = lastJson<{
      error?: string;
      escaped: string[];
      notices: string[];
      lock: string;
      firstDaemon: number;
      lockWhileAttached: string | null;
      firstEnd: { why?: string; code?: string; message?: string; hint?: string };
      lockAfterKill: string | null;
      secondDaemon: number;
      lockWhileReattached: string | null;
      secondEnd: { why?: string; code?: string; message?: string };
      running: boolean;
    }>(
      await runScript(CONSOLE_SCRIPT, {
        ...envFor(rt),
        XDG_CONFIG_HOME: userDir(join(short, 'c')),
        XDG_CACHE_HOME: userDir(join(short, 'k')),
        ROOST_ROOT: repoRoot,
        VM_NAME: scope.name('con'),
        KERNEL: guest.kernel,
        INITRD: guest.initrd,
        CMDLINE: guest.cmdline,
      }),
    );
    try {
      expect(r.error).toBeUndefined();
      expect(r.escaped).toEqual([]);
      // libvirt locked the PTY for the attached console, with the daemon's PID …
      expect(r.lock).toMatch(/^\/run\/lock\/LCK\.\._pts_\d+$/);
      expect(Number(r.lockWhileAttached)).toBe(r.firstDaemon);
      // … the kill is reported as the daemon going away, not as a VM that stopped …
      expect(r.firstEnd).toMatchObject({ code: 'DAEMON_GONE' });
      expect(r.firstEnd.message).toContain('the libvirt session daemon went away');
      expect(r.firstEnd.message).toContain('the VM may still be running');
      // … and its lock stays behind.
      expect(Number(r.lockAfterKill)).toBe(r.firstDaemon);
      // The next console removed it (saying so), attached through the new daemon, and left on Ctrl-].
      expect(r.notices).toHaveLength(1);
      // (libvirt names it by its own lock directory, /var/lock, a link to /run/lock)
      const lockName = r.lock.slice('/run/lock/'.length);
      expect(r.notices[0]).toMatch(
        new RegExp(`^removed the stale console lock /(run|var)/lock/${lockName.replaceAll('.', '\\.')} `),
      );
      expect(r.secondDaemon).not.toBe(r.firstDaemon);
      expect(Number(r.lockWhileReattached)).toBe(r.secondDaemon);
      expect(r.secondEnd).toEqual({ why: 'escape' });
      expect(r.running).toBe(true);
    } finally {
      await stopDaemonsUnder(rt);
      rmSync(short, { recursive: true, force: true });
    }
  });

  it('starts only one daemon when two processes connect at once', async () => {
    for (let round = 0; round < 3; round++) {
      const rt = userDir(join(scope.dir, `rt-race${round}`));
      expect(daemonsIn(rt)).toEqual([]);
      const go = join(rt, 'go');
      const envOf = (i: number) => ({
        ...envFor(rt),
        ROOST_READY_FILE: join(rt, `ready${i}`),
        ROOST_GO_FILE: go,
      });
      // Every daemon that shows up for this runtime dir while the two race, even one that quits at once.
      const seen = new Set<number>();
      const watch = setInterval(() => daemonsIn(rt).forEach((pid) => seen.add(pid)), 2);
      let results: RunResult[];
      try {
        const racing = Promise.all([runScript(RACE_SCRIPT, envOf(0)), runScript(RACE_SCRIPT, envOf(1))]);
        // Both loaded and waiting: let them go together.
        const ready = await waitUntil(
          () => [0, 1].every((i) => existsSync(envOf(i).ROOST_READY_FILE)),
          60_000,
          5,
        );
        expect(ready, 'both racers got ready').toBe(true);
        writeFileSync(go, '');
        results = await racing;
      } finally {
        clearInterval(watch);
      }
      const [a, b] = results.map((x) => lastJson<{ pid: number; hostname: string; started: number }>(x));
      // Both really raced: they left the barrier together (a loaded host may still deschedule one a little).
      expect(Math.abs(a!.started - b!.started)).toBeLessThan(1_000);
      // … and were served by the same, single daemon; no second one was seen starting.
      expect(a!.pid).toBe(b!.pid);
      expect(daemonsIn(rt)).toEqual([a!.pid]);
      expect([...seen]).toEqual([a!.pid]);
      expect(uidOf(a!.pid)).toBe(user.uid);
      await stopDaemonsUnder(rt);
    }
  });

  // Last: every test above used daemons of its own runtime dirs and must not have touched the shared one.
  it('left the shared harness daemon alone', () => {
    expect(sharedDaemon).toBeDefined();
    expect(isAlive(sharedDaemon!)).toBe(true);
  });
});
