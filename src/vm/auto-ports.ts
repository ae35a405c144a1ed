// Automatic port forwarding (`--auto-ports`, what Lima does): ports a guest starts listening on appear on the
// same port of 127.0.0.1, and go away when the guest stops listening.
//
// Why ssh and not passt: passt's forwards are fixed when it starts, and libvirt 11.3 applies new ones only by
// re-plugging the NIC (a 1.5–2 s gap, and the guest must run DHCP again: see docs/networking.md) — acceptable
// for a user's `roost port add`, not for every listen() in the guest. So the watcher keeps one ssh connection
// (a control master over the VM's forwarded ssh port) and uses it both ways: every second it reads
// /proc/net/tcp{,6} in the guest, and it adds or cancels `-L` forwards on the master (`ssh -O forward`), which
// takes effect at once and disturbs nothing. The cost: the VM needs an ssh route and a recorded user and key,
// which every cloud-image VM roost creates has.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import { canBind, unprivilegedPortStart } from '../net/port-check.js';
import { listeningPorts, parseProcNetTcp } from '../net/proc-net-tcp.js';
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

function runSsh(
  args: string[],
  timeoutMs = 15_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: e.message }));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 255, stdout, stderr });
    });
  });
}

/**
 * What the guest listens on, read through the master: one fixed remote command, no user input in it. It goes to
 * ssh as ONE argument: ssh joins its arguments with spaces for the remote shell, so `sh -c SCRIPT` as three would
 * lose the quoting.
 */
const READ_LISTENERS = 'cat /proc/net/tcp; echo ROOST-TCP6; cat /proc/net/tcp6 2>/dev/null || true';

export interface WatchOptions {
  intervalMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
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
  const stop = () => opts.signal?.aborted;
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
      const r = await runSsh(viaMaster([READ_LISTENERS]));
      if (r.code === 0) {
        const [v4 = '', v6 = ''] = r.stdout.split('ROOST-TCP6\n');
        const wanted = listeningPorts([...parseProcNetTcp(v4, 'tcp'), ...parseProcNetTcp(v6, 'tcp6')]).filter(
          (p) => !fixed.has(p),
        );
        const skipped: AutoPortsState['skipped'] = [];
        for (const port of wanted.filter((p) => !state.ports.includes(p))) {
          if (port < lowest) {
            skipped.push({ port, reason: `host port ${port} needs root` });
            continue;
          }
          if (!(await canBind('tcp', '127.0.0.1', port))) {
            skipped.push({ port, reason: `host port ${port} is in use` });
            continue;
          }
          const add = await runSsh(
            viaMaster([], ['-O', 'forward', '-L', `127.0.0.1:${port}:localhost:${port}`]),
          );
          if (add.code === 0) {
            state.ports.push(port);
            log(`+ 127.0.0.1:${port} → ${name}:${port}`);
          } else skipped.push({ port, reason: add.stderr.trim() || 'ssh refused the forward' });
        }
        for (const port of state.ports.filter((p) => !wanted.includes(p))) {
          await runSsh(viaMaster([], ['-O', 'cancel', '-L', `127.0.0.1:${port}:localhost:${port}`]));
          state.ports = state.ports.filter((p) => p !== port);
          log(`- 127.0.0.1:${port}`);
        }
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
