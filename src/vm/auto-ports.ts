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
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from '../private-file.js';
import { parseDomainXml } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import { unprivilegedPortStart } from '../net/port-check.js';
import { LISTENERS_COMMAND, readListenersOutput } from '../net/proc-net-tcp.js';
import { cliEntryFile } from '../package-root.js';
import type { RoostPaths } from '../paths.js';
import {
  DEFAULT_LIMITS,
  hostHoldsLoopbackPort,
  MAX_OUTPUT_BYTES,
  planRound,
  runSsh,
  type AutoPortsLimits,
} from './auto-ports-round.js';
import type { VmContext } from './context.js';
import { toPortForward } from './forwards.js';
import { lookupVm } from './lookup.js';
import { isRemote, refuseRemoteAutoPorts } from './remote.js';
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
  writePrivateFile(file, JSON.stringify(st, null, 2) + '\n');
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
  refuseRemoteAutoPorts(ctx, name);
  const dom = await lookupVm(ctx, name);
  const target: SshTarget = await resolveSshTarget(ctx, name);
  const fixed = passtForwardedPorts(await ctx.client.getXml(dom));
  const master = new SshMaster(ctx.paths, target, name);
  const state: AutoPortsState = {
    vm: name,
    pid: process.pid,
    ports: [],
    skipped: [],
    updatedAt: new Date().toISOString(),
  };
  const round: Round = {
    name,
    master,
    state,
    fixed,
    limits: opts.limits ?? DEFAULT_LIMITS,
    hostProblem: hostPortProblem(process.getuid?.() === 0 ? 0 : unprivilegedPortStart()),
    sayOnce: onceEach(log),
    log,
  };
  const stop = () => opts.signal?.aborted === true;
  try {
    // Visible from the start (roost port ls, a second `port watch`, restart), not only once ssh lets us in.
    writeState(ctx.paths, state);
    await openWhenGuestLetsUsIn(master, () => stop() || ctx.client.isActive(dom).then((a) => !a));
    log(`watching ${name} for listening ports`);
    while (!stop()) {
      if (!(await ctx.client.isActive(dom))) {
        log(`${name} stopped`);
        break;
      }
      await master.ensure();
      if (await watchRound(round)) writeState(ctx.paths, state);
      await sleep(opts.intervalMs ?? 1000);
    }
  } finally {
    await master.close();
    rmSync(autoPortsStateFile(ctx.paths, name), { force: true });
  }
}

/** Guest ports passt already forwards, and ssh itself: not auto-ports' to forward again. */
function passtForwardedPorts(xml: string): Set<number> {
  const fixed = new Set<number>([22]);
  for (const nic of parseDomainXml(xml).nics)
    for (const p of nic.ports.map(toPortForward))
      for (let g = p.guestStart; g <= p.guestStart + (p.hostEnd - p.hostStart); g++)
        if (p.proto === 'tcp') fixed.add(g);
  return fixed;
}

/** Why a host port may not be bound for a guest (undefined: it may). */
function hostPortProblem(lowest: number): (port: number) => Promise<string | undefined> {
  return async (port) =>
    port < lowest
      ? `host port ${port} needs root`
      : (await hostHoldsLoopbackPort(port))
        ? `host port ${port} is in use on the host`
        : undefined;
}

/** Each reason a port is left out is logged once, not every second. */
function onceEach(log: (line: string) => void): (key: string, line: string) => void {
  const said = new Set<string>();
  return (key, line) => {
    if (said.has(key)) return;
    said.add(key);
    log(line);
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One ssh control master to the VM, used for both the listener reads and the `-O forward` requests. */
class SshMaster {
  private readonly control: string;
  private child: ChildProcess | undefined;

  constructor(
    private readonly paths: RoostPaths,
    private readonly target: SshTarget,
    private readonly name: string,
  ) {
    mkdirSync(paths.sockets, { recursive: true, mode: 0o700 });
    this.control = join(paths.sockets, `${name}.ssh`);
    rmSync(this.control, { force: true });
  }

  /** Starts the master and waits for its control socket. */
  async start(): Promise<void> {
    this.child = spawn(
      'ssh',
      sshArgs(this.target, this.paths, [], {
        batch: true,
        extra: ['-M', '-S', this.control, '-N', '-o', 'ServerAliveInterval=10'],
      }),
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100 && !existsSync(this.control); i++) await sleep(100);
    if (!existsSync(this.control))
      throw new RoostError(
        'AUTO_PORTS_SSH',
        `cannot open an ssh connection to '${this.name}' for auto-ports`,
        {
          hint: `check: roost ssh ${this.name} -- true`,
        },
      );
  }

  /** Starts the master again when it exited or its socket went. */
  async ensure(): Promise<void> {
    if (this.child?.exitCode !== null || !existsSync(this.control)) await this.start();
  }

  kill(): void {
    this.child?.kill();
  }

  /** Runs a command in the guest, or (with `extra`) a request to the master, over the control socket. */
  run(command: string[], extra: string[] = [], timeoutMs?: number) {
    return runSsh(
      sshArgs(this.target, this.paths, command, { batch: true, extra: ['-S', this.control, ...extra] }),
      timeoutMs,
    );
  }

  /** Ends the master (its forwards go with it). */
  async close(): Promise<void> {
    if (existsSync(this.control)) await this.run([], ['-O', 'exit'], 5_000);
    this.child?.kill();
  }
}

/** Started right after `create`, the guest may still be booting: keep trying until ssh lets us in. */
async function openWhenGuestLetsUsIn(master: SshMaster, giveUp: () => boolean | Promise<boolean>) {
  for (;;) {
    try {
      await master.start();
      return;
    } catch (e) {
      master.kill();
      if (await giveUp()) throw e;
      await sleep(2000);
    }
  }
}

/** What a round works with; `state` is updated in place. */
interface Round {
  name: string;
  master: SshMaster;
  state: AutoPortsState;
  fixed: ReadonlySet<number>;
  limits: AutoPortsLimits;
  hostProblem: (port: number) => Promise<string | undefined>;
  sayOnce: (key: string, line: string) => void;
  log: (line: string) => void;
}

/** Reads the guest's listeners and adds and cancels forwards; false when the guest could not be read. */
async function watchRound(r: Round): Promise<boolean> {
  const { name, state } = r;
  const listeners = await r.master.run([LISTENERS_COMMAND]);
  if (listeners.code !== 0) return false;
  if (listeners.truncated) {
    r.sayOnce(
      'truncated',
      `${name} reports more than ${MAX_OUTPUT_BYTES} bytes of listeners: only those read count`,
    );
  }
  const { ports: wanted, complete } = readListenersOutput(listeners.stdout, listeners.truncated);
  const plan = await planRound(wanted, state.ports, r.fixed, complete, r.hostProblem, r.limits);
  const skipped = [...plan.skipped];
  for (const port of plan.add) {
    const add = await r.master.run([], ['-O', 'forward', '-L', `127.0.0.1:${port}:localhost:${port}`]);
    if (add.code === 0) {
      state.ports.push(port);
      r.log(`+ 127.0.0.1:${port} → ${name}:${port}`);
    } else skipped.push({ port, reason: safeLine(add.stderr) || 'ssh refused the forward' });
  }
  for (const port of plan.remove) {
    await r.master.run([], ['-O', 'cancel', '-L', `127.0.0.1:${port}:localhost:${port}`]);
    state.ports = state.ports.filter((p) => p !== port);
    r.log(`- 127.0.0.1:${port}`);
  }
  for (const s of skipped) r.sayOnce(`${s.port} ${s.reason}`, `skipped ${name}:${s.port}: ${s.reason}`);
  state.ports.sort((a, b) => a - b);
  state.skipped = skipped;
  state.updatedAt = new Date().toISOString();
  return true;
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
  // A VM of another host gets none (remote.ts refuses --auto-ports there): its watcher would fail at once.
  if (isRemote(ctx) || readAutoPorts(ctx.paths, name)) return undefined;
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
