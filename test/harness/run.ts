// Running programs for tests: as the current process, or as the unprivileged test user.
// Always an argument array, never a shell string (docs/architecture.md, Invariants: tests keep that rule too).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { TestUser } from './test-user.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Throw when the exit code is not 0 (default true). */
  check?: boolean;
}

export class CommandFailedError extends Error {
  readonly code = 'TEST_COMMAND_FAILED';
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(
      `${argv.join(' ')} exited with ${result.code ?? result.signal}\n` +
        `stdout: ${result.stdout.trim()}\nstderr: ${result.stderr.trim()}`,
    );
  }
}

/** Runs a program to completion and collects its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runWith(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd }, opts);
}

/**
 * Runs a program as the test user with that user's own environment (HOME, XDG_RUNTIME_DIR, USER), the way a
 * login of that user would see it. When the tests already run as that user this is a plain run.
 */
export function runAs(
  user: TestUser,
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return runWith(cmd, args, spawnOptionsFor(user, opts), opts);
}

/** Spawn options that make a child run as `user` (uid/gid switch only when we are root). */
export function spawnOptionsFor(
  user: TestUser,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): SpawnOptions {
  const env = { ...userEnv(user), ...opts.env };
  const base: SpawnOptions = { env, cwd: opts.cwd ?? user.home };
  if (process.getuid?.() === 0 && user.uid !== 0) return { ...base, uid: user.uid, gid: user.gid };
  return base;
}

/** The environment a fresh login of `user` would have; no variables of ours leak in. */
export function userEnv(user: TestUser): NodeJS.ProcessEnv {
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    XDG_RUNTIME_DIR: user.runtimeDir,
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    LANG: 'C.UTF-8',
  };
}

/** SIGKILL to the child's process group (it leads one: spawned detached), else to the child alone. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

function runWith(
  cmd: string,
  args: readonly string[],
  spawnOpts: SpawnOptions,
  opts: RunOptions,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // In a process group of its own, so that a timeout ends what the command started as well: a process it
    // left running would hold the pipes open and 'close' would never come (an ssh to a rebooting guest did).
    const child = spawn(cmd, args, { ...spawnOpts, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => killGroup(child), opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if ((opts.check ?? true) && code !== 0) reject(new CommandFailedError([cmd, ...args], result));
      else resolve(result);
    });
    // A child that exits without reading its input makes our write fail with EPIPE: that is not a test failure.
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}
