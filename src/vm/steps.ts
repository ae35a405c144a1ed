// Named steps of a multi-step command (create, rm, port add/rm): where an interruption takes effect, and what a failure
// inside a step is reported as.
//
// An interruption (Ctrl-C, SIGTERM, SIGHUP: an aborted AbortSignal) never cuts a libvirt call in half: the call
// in flight finishes, and the command stops at the next step boundary, where it rolls back.
//
// The test hook: with ROOST_TEST_PAUSE_AT=create:disk,rm:undefine (step names, `create:rollback`, or `*`) the
// command prints `roost-test: paused before STEP` on stderr there and waits for SIGUSR2 (go on) or an interruption;
// once the step's first call is on its way it prints `roost-test: in STEP`. The fault-injection suite
// (test/faults/) uses it to act at an exact moment instead of sleeping and hoping. Without the variable it costs
// one lookup per step.
import { InterruptedError, RoostError, type StopSignal } from '../errors.js';
import { afterCallsSent } from '../libvirt/calls-sent.js';
import { ConnectionClosedError } from '../libvirt/errors.js';

export { InterruptedError, type StopSignal };

/** Exit codes of a command stopped by a signal: 128 + the signal's number, as a shell reports it. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const satisfies Record<
  StopSignal,
  number
>;

/** The daemon went away during a step (it starts again on demand: a retry works). */
export class DaemonGoneError extends RoostError {}

export interface StepsOptions {
  /** Aborted (with the signal's name as reason) when the user interrupts. */
  signal?: AbortSignal;
  /** Aborted when the user interrupts again, during the rollback. */
  stopRollback?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** The command as messages name it, when the hook's name is shorter (`port add` for the hook's `port`). */
  title?: string;
}

export class Steps {
  private readonly pauseAt: Set<string>;

  constructor(
    /** The command, as the hook names it: `create`, `rm`, `port`. */
    private readonly command: string,
    private readonly opts: StepsOptions = {},
  ) {
    const spec = (opts.env ?? process.env).ROOST_TEST_PAUSE_AT;
    this.pauseAt = new Set(spec ? spec.split(',').map((s) => s.trim()) : []);
  }

  get signal(): AbortSignal | undefined {
    return this.opts.signal;
  }

  /** Throws InterruptedError when the user has interrupted the command. */
  check(): void {
    const signal = this.opts.signal;
    if (signal?.aborted) {
      const name = signalName(signal.reason);
      throw new InterruptedError(name, `roost ${this.opts.title ?? this.command} was interrupted (${name})`);
    }
  }

  /**
   * Runs one step: stop here if interrupted, else run it. A daemon that dies under the step becomes a
   * DaemonGoneError that names the step, instead of the transport's words. A step past the point of no return
   * (`stoppable: false`) runs whatever comes: the command finishes rather than stop half way.
   */
  async run<T>(
    name: string,
    doing: string,
    body: () => Promise<T>,
    opts: { stoppable?: boolean } = {},
  ): Promise<T> {
    if (opts.stoppable === false) await this.pastNoReturn(name);
    else await this.boundary(name);
    const running = body();
    if (this.hooked(name)) void afterCallsSent().then(() => testMarker(`in ${this.command}:${name}`));
    try {
      return await running;
    } catch (e) {
      throw explainDaemonLoss(e, doing);
    }
  }

  /** A step boundary: the place an interruption takes effect (and the test hook pauses). */
  async boundary(name: string): Promise<void> {
    if (this.hooked(name)) await this.pause(name, this.opts.signal);
    this.check();
  }

  /**
   * A boundary past the point of no return: the command finishes whatever comes, so an interruption does not
   * stop it here (the test hook still pauses).
   */
  async pastNoReturn(name: string): Promise<void> {
    if (this.hooked(name)) await this.pause(name, this.opts.signal);
  }

  /** Where the rollback begins: only the test hook, which waits there for SIGUSR2 or a second interruption. */
  async beforeRollback(): Promise<void> {
    if (this.hooked('rollback')) await this.pause('rollback', this.opts.stopRollback);
  }

  private hooked(name: string): boolean {
    return this.pauseAt.size > 0 && (this.pauseAt.has('*') || this.pauseAt.has(`${this.command}:${name}`));
  }

  private pause(name: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        process.off('SIGUSR2', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      process.on('SIGUSR2', done);
      signal?.addEventListener('abort', done);
      testMarker(`paused before ${this.command}:${name}`);
      if (signal?.aborted) done();
    });
  }
}

/** A ConnectionClosedError (the daemon died or was killed) as a message that says what was going on. */
export function explainDaemonLoss(e: unknown, doing: string): unknown {
  if (!(e instanceof ConnectionClosedError)) return e;
  return new DaemonGoneError('DAEMON_GONE', `the libvirt daemon went away while ${doing}`, {
    hint: 'run the command again: a new daemon starts on demand (if it keeps failing: roost doctor)',
    cause: e,
  });
}

function signalName(reason: unknown): StopSignal {
  return reason === 'SIGTERM' || reason === 'SIGHUP' ? reason : 'SIGINT';
}

function testMarker(text: string): void {
  process.stderr.write(`roost-test: ${text}\n`);
}
