// Automatic port forwarding (`--auto-ports`, what Lima does): ports a guest starts listening on appear on the
// same port of 127.0.0.1, and go away when the guest stops listening.
//
// Why ssh and not passt: passt's forwards are fixed when it starts, and libvirt 11.3 applies new ones only by
// re-plugging the NIC (a gap in connectivity, and the guest must run DHCP again: see docs/networking.md) — acceptable
// for a user's `roost port add`, not for every listen() in the guest. So the watcher keeps one ssh connection
// (a control master over the VM's forwarded ssh port) and uses it both ways: every second it reads
// /proc/net/tcp{,6} in the guest, and it adds or cancels `-L` forwards on the master (`ssh -O forward`), which
// takes effect at once and disturbs nothing. The cost: the VM needs an ssh route and a recorded user and key,
// which every cloud-image VM roost creates has.
//
// What the guest says it listens on is untrusted (it may be hostile, or just busy), so the watcher is bounded:
// it reads at most MAX_OUTPUT_BYTES of ssh output per round (the parser caps lines, proc-net-tcp.ts), forwards
// only guest ports in an allowed range (1024-65535: the well-known ports are the host's services' names;
// forward one by hand with `roost port add`), holds and adds per round only so many (DEFAULT_LIMITS), and
// never binds a host port some program already holds on 127.0.0.1 or ::1 (a guest must not take over a name a
// host service answers to). Each port left out is said once in the log and listed in the state file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import { unprivilegedPortStart } from '../net/port-check.js';
import { LISTENERS_COMMAND, readListenersOutput } from '../net/proc-net-tcp.js';
import { cliEntryFile } from '../package-root.js';
import type { RoostPaths } from '../paths.js';
import type { VmContext } from './context.js';
import { toPortForward } from './forwards.js';
import { lookupVm } from './lookup.js';
import { resolveSshTarget, sshArgs, type SshTarget } from './ssh.js';

export interface AutoPortsState {
  vm: string;
  /** The watcher's process. */
  pid: number;
  /** Guest port → the same host port on 127.0.0.1. */
  ports: number[];
  /** Guest ports left out, with why (host port taken, privileged…). */
  skipped: { port: number; reason: string }[];
  updatedAt: string;
}

export function autoPortsStateFile(paths: RoostPaths, name: string): string {
  return join(paths.state, 'auto-ports', `${name}.json`);
}

/** The watcher's state, when a watcher for this VM is alive. */
export function readAutoPorts(paths: RoostPaths, name: string): AutoPortsState | undefined {
  const file = autoPortsStateFile(paths, name);
  if (!existsSync(file)) return undefined;
  try {
    const st = JSON.parse(readFileSync(file, 'utf8')) as AutoPortsState;
    process.kill(st.pid, 0);
    return st;
  } catch {
    return undefined;
  }
}

function writeState(paths: RoostPaths, st: AutoPortsState): void {
  const file = autoPortsStateFile(paths, st.vm);
  mkdirSync(join(paths.state, 'auto-ports'), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(st, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** Most ssh output read per round; past it the child is stopped and the round uses what was read. */
export const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
/** What ssh's own messages (stderr) are cut to: they end up in a log line. */
const MAX_STDERR_BYTES = 4096;

interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout reached maxBytes: the child was stopped, stdout holds the first maxBytes. */
  truncated: boolean;
}

/** Runs ssh, keeping at most `maxBytes` of its output (what the guest sends is not trusted to be small). */
export function runSsh(
  args: string[],
  timeoutMs = 15_000,
  maxBytes = MAX_OUTPUT_BYTES,
  /** The program: ssh, or a stand-in in tests. */
  command = 'ssh',
): Promise<SshResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let truncated = false;
    let done = false;
    const finish = (code: number, err?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: err ?? stderr, truncated });
    };
    // Stops the child and stops reading: a grandchild may still hold the pipe, so 'close' is not waited for.
    const abandon = () => {
      child.kill('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timer = setTimeout(() => {
      abandon();
      finish(255, `${stderr}timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      if (done) return;
      const room = maxBytes - outBytes;
      if (b.length < room) {
        out.push(b);
        outBytes += b.length;
        return;
      }
      out.push(b.subarray(0, room));
      truncated = true;
      abandon();
      // A stop at the size limit is this side's doing: the output read so far is still the guest's answer.
      finish(0);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr = (stderr + b.toString('utf8')).slice(0, MAX_STDERR_BYTES);
    });
    child.on('error', (e) => finish(127, e.message));
    child.on('close', (code) => finish(code ?? 255));
  });
}

/** The bounds of what auto-ports forwards (see the top of this file). */
export interface AutoPortsLimits {
  /** Guest ports forwarded: lowest and highest (inclusive). */
  minPort: number;
  maxPort: number;
  /** Forwards held at once. */
  maxForwards: number;
  /** Forwards added per round. */
  maxNewPerRound: number;
}

export const DEFAULT_LIMITS: AutoPortsLimits = {
  minPort: 1024,
  maxPort: 65535,
  maxForwards: 32,
  maxNewPerRound: 4,
};

/** At most this many skipped ports are kept in the state file (a guest may listen on thousands). */
const MAX_SKIPPED_LISTED = 64;

export interface RoundPlan {
  /** Guest ports to forward this round: in range, under the caps, their host port free. */
  add: number[];
  /** Forwards to cancel: the guest stopped listening. */
  remove: number[];
  /** Ports left out, with why. */
  skipped: { port: number; reason: string }[];
}

/** Host ports probed per round at most (each probe is a bind and a release). */
const MAX_PROBES_PER_ROUND = 16;

/**
 * One round's decisions: what the guest listens on (`wanted`, already bounded by the parser), what is forwarded
 * (`current`) and what passt forwards itself (`fixed`) → ports to add (in range, under the caps, and with no
 * `hostProblem` — e.g. a host program holds that port), ports to cancel (only when `complete`: a cut-off answer
 * says nothing about the ports it does not list), and ports left out with why. Ports over this round's rate
 * are neither: the next rounds take them.
 */
export async function planRound(
  wanted: readonly number[],
  current: readonly number[],
  fixed: ReadonlySet<number>,
  complete: boolean,
  hostProblem: (port: number) => Promise<string | undefined>,
  limits: AutoPortsLimits = DEFAULT_LIMITS,
): Promise<RoundPlan> {
  const wantedSet = new Set(wanted);
  const remove = complete ? current.filter((p) => !wantedSet.has(p)) : [];
  const room = limits.maxForwards - (current.length - remove.length);
  const add: number[] = [];
  const skipped: RoundPlan['skipped'] = [];
  const skip = (port: number, reason: string) => {
    if (skipped.length < MAX_SKIPPED_LISTED) skipped.push({ port, reason });
  };
  const held = new Set(current);
  let probes = 0;
  for (const port of [...wantedSet].sort((a, b) => a - b)) {
    if (held.has(port) || fixed.has(port)) continue;
    if (port < limits.minPort || port > limits.maxPort) {
      skip(port, `outside the auto-ports range ${limits.minPort}-${limits.maxPort}`);
    } else if (add.length >= room) {
      skip(port, `auto-ports holds ${limits.maxForwards} forwards already (its limit)`);
    } else if (add.length < limits.maxNewPerRound && probes < MAX_PROBES_PER_ROUND) {
      probes++;
      const why = await hostProblem(port);
      if (why === undefined) add.push(port);
      else skip(port, why);
    }
  }
  return { add, remove, skipped };
}

/**
 * Whether some program on this host listens on `port` of 127.0.0.1 or ::1 — a host without IPv6 loopback counts
 * as free there. Binding (and releasing at once) is the only way to know without root; any error but "address
 * not available" means taken.
 */
export async function hostHoldsLoopbackPort(port: number): Promise<boolean> {
  const probe = (host: string) =>
    new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code !== 'EADDRNOTAVAIL'));
      srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(false)));
    });
  return (await probe('127.0.0.1')) || (await probe('::1'));
}

export interface WatchOptions {
  intervalMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  limits?: AutoPortsLimits;
}

/** Runs until the VM stops or `signal` aborts; forwards what the guest listens on. */
export async function watchAutoPorts(ctx: VmContext, name: string, opts: WatchOptions = {}): Promise<void> {
  const log = opts.log ?? (() => {});
  const dom = await lookupVm(ctx, name);
  const target: SshTarget = await resolveSshTarget(ctx, name);
  // Guest ports passt already forwards, and ssh itself, are not ours to forward again.
  const parsed = parseDomainXml(await ctx.client.getXml(dom));
  const fixed = new Set<number>([22]);
  for (const nic of parsed.nics)
    for (const p of nic.ports.map(toPortForward))
      for (let g = p.guestStart; g <= p.guestStart + (p.hostEnd - p.hostStart); g++)
        if (p.proto === 'tcp') fixed.add(g);

  mkdirSync(ctx.paths.sockets, { recursive: true, mode: 0o700 });
  const control = join(ctx.paths.sockets, `${name}.ssh`);
  rmSync(control, { force: true });
  const viaMaster = (command: string[], extra: string[] = []) =>
    sshArgs(target, ctx.paths, command, { batch: true, extra: ['-S', control, ...extra] });
  let master: ChildProcess | undefined;
  const startMaster = async () => {
    master = spawn(
      'ssh',
      sshArgs(target, ctx.paths, [], {
        batch: true,
        extra: ['-M', '-S', control, '-N', '-o', 'ServerAliveInterval=10'],
      }),
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 100 && !existsSync(control); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(control))
      throw new RoostError('AUTO_PORTS_SSH', `cannot open an ssh connection to '${name}' for auto-ports`, {
        hint: `check: roost ssh ${name} -- true`,
      });
  };

  const state: AutoPortsState = {
    vm: name,
    pid: process.pid,
    ports: [],
    skipped: [],
    updatedAt: new Date().toISOString(),
  };
  const lowest = process.getuid?.() === 0 ? 0 : unprivilegedPortStart();
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const hostProblem = async (port: number) =>
    port < lowest
      ? `host port ${port} needs root`
      : (await hostHoldsLoopbackPort(port))
        ? `host port ${port} is in use on the host`
        : undefined;
  const stop = () => opts.signal?.aborted;
  // Each reason a port is left out is logged once, not every second.
  const said = new Set<string>();
  const sayOnce = (key: string, line: string) => {
    if (said.has(key)) return;
    said.add(key);
    log(line);
  };
  try {
    // Visible from the start (roost port ls, a second `port watch`, restart), not only once ssh lets us in.
    writeState(ctx.paths, state);
    // Started right after `create`, the guest may still be booting: keep trying until ssh lets us in.
    for (;;) {
      try {
        await startMaster();
        break;
      } catch (e) {
        master?.kill();
        if (stop() || !(await ctx.client.isActive(dom))) throw e;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    log(`watching ${name} for listening ports`);
    while (!stop()) {
      if (!(await ctx.client.isActive(dom))) {
        log(`${name} stopped`);
        break;
      }
      if (master?.exitCode !== null || !existsSync(control)) await startMaster();
      const r = await runSsh(viaMaster([LISTENERS_COMMAND]));
      if (r.code === 0) {
        if (r.truncated) {
          sayOnce(
            'truncated',
            `${name} reports more than ${MAX_OUTPUT_BYTES} bytes of listeners: only those read count`,
          );
        }
        const { ports: wanted, complete } = readListenersOutput(r.stdout, r.truncated);
        const plan = await planRound(wanted, state.ports, fixed, complete, hostProblem, limits);
        const skipped = [...plan.skipped];
        for (const port of plan.add) {
          const add = await runSsh(
            viaMaster([], ['-O', 'forward', '-L', `127.0.0.1:${port}:localhost:${port}`]),
          );
          if (add.code === 0) {
            state.ports.push(port);
            log(`+ 127.0.0.1:${port} → ${name}:${port}`);
          } else skipped.push({ port, reason: safeLine(add.stderr) || 'ssh refused the forward' });
        }
        for (const port of plan.remove) {
          await runSsh(viaMaster([], ['-O', 'cancel', '-L', `127.0.0.1:${port}:localhost:${port}`]));
          state.ports = state.ports.filter((p) => p !== port);
          log(`- 127.0.0.1:${port}`);
        }
        for (const s of skipped) sayOnce(`${s.port} ${s.reason}`, `skipped ${name}:${s.port}: ${s.reason}`);
        state.ports.sort((a, b) => a - b);
        state.skipped = skipped;
        state.updatedAt = new Date().toISOString();
        writeState(ctx.paths, state);
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    }
  } finally {
    if (existsSync(control)) await runSsh(viaMaster([], ['-O', 'exit']), 5_000);
    master?.kill();
    rmSync(autoPortsStateFile(ctx.paths, name), { force: true });
  }
}

/** ssh's message as one printable line for the log. */
function safeLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

/** Starts a detached `roost port watch NAME` for a VM, logging to its own file; returns its pid. */
export function spawnAutoPortsWatcher(
  paths: RoostPaths,
  name: string,
  cliPath: string,
  connect?: string,
): number {
  mkdirSync(paths.logs, { recursive: true, mode: 0o700 });
  const logFile = join(paths.logs, `${name}.auto-ports.log`);
  const fd = openSync(logFile, 'a', 0o600);
  const args = [cliPath, ...(connect ? ['--connect', connect] : []), 'port', 'watch', name];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  return child.pid ?? -1;
}

/**
 * After a VM with --auto-ports started — from `start`, `restart` or the web console — its watcher, unless one
 * already runs. Returns the new watcher's pid, or undefined when none was started.
 */
export function ensureAutoPortsWatcher(ctx: VmContext, name: string): number | undefined {
  if (readAutoPorts(ctx.paths, name)) return undefined;
  const cli = cliEntryFile();
  if (cli === undefined) return undefined;
  return spawnAutoPortsWatcher(ctx.paths, name, cli, ctx.uri);
}

/**
 * Ends a VM's watcher and waits until it has cleaned up (its forwards cancelled, its state file gone): `restart`
 * must not leave the last boot's watcher deciding, late, that the VM it watched has stopped.
 */
export async function stopAutoPortsWatcher(
  paths: RoostPaths,
  name: string,
  timeoutMs = 10_000,
): Promise<void> {
  const st = readAutoPorts(paths, name);
  if (!st) return;
  try {
    process.kill(st.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + timeoutMs;
  while (readAutoPorts(paths, name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}
