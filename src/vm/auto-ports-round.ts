// One round of auto-ports (auto-ports.ts): what to forward given what the guest says it listens on, within the
// bounds the top of auto-ports.ts explains, and running ssh with a bound on what it may send back.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

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
