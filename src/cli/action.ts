// The wrapper every command's action runs in: global options, output, a lazily opened libvirt connection that
// is always closed, signals for the commands that can be interrupted, and errors turned into a message and an
// exit code.
import type { VmContext } from '../vm/context.js';
import { describeRollback, rollbackOf } from '../vm/rollback.js';
import { InterruptedError, SIGNAL_EXIT_CODES, type StopSignal } from '../vm/steps.js';
import { describeError, type UserFacingError } from '../describe-error.js';
import { createOutput, type GlobalOptions, type Output } from './output.js';

/** What a multi-step command passes to its use case so that a signal stops it at a step boundary. */
export interface Interruption {
  /** Aborted by the first SIGINT/SIGTERM/SIGHUP (reason: the signal's name). */
  signal: AbortSignal;
  /** Aborted by a second one, during the rollback: what is not yet undone is left, and named. */
  stopRollback: AbortSignal;
}

export interface CommandEnv {
  out: Output;
  globals: GlobalOptions;
  /** Opens (once) the libvirt connection named by --connect / $ROOST_CONNECT / the default. */
  context(): Promise<VmContext>;
  /**
   * Makes this command interruptible: from now until it ends, SIGINT, SIGTERM and SIGHUP no longer kill the
   * process but abort `signal`; the command stops at its next step, rolls back, and exits 130/143/129.
   */
  interruptible(): Interruption;
}

const STOP_SIGNALS = Object.keys(SIGNAL_EXIT_CODES) as StopSignal[];

/** Runs a command body; `cmd` is the commander command (for --connect/--json/--quiet wherever they were given). */
export async function runAction(
  cmd: { optsWithGlobals(): unknown },
  body: (env: CommandEnv) => Promise<void>,
): Promise<void> {
  const globals = cmd.optsWithGlobals() as GlobalOptions;
  const out = createOutput(globals);
  let ctx: Promise<VmContext> | undefined;
  let trap: SignalTrap | undefined;
  const env: CommandEnv = {
    out,
    globals,
    context: () => {
      ctx ??= import('../vm/context.js').then((m) => m.openContext({ uri: globals.connect }));
      return ctx;
    },
    interruptible: () => (trap ??= trapSignals(out)).interruption,
  };
  try {
    if (globals.host !== undefined) globals.connect = await hostUri(globals);
    await body(env);
    // The command finished its work although a signal came (it came after the last step that can be undone).
    if (trap?.caught) process.exitCode = SIGNAL_EXIT_CODES[trap.caught];
  } catch (err) {
    const e = describeFailure(err, trap?.caught);
    out.error(e);
    process.exitCode = trap?.caught ? SIGNAL_EXIT_CODES[trap.caught] : e.exitCode;
  } finally {
    trap?.release();
    // The goodbye (CONNECT_CLOSE) is sent, not waited for: the process ends as soon as the command is done
    // (main.ts), and the daemon needs no reply of ours to drop the connection. After starting a VM its reply can
    // take a few milliseconds: the daemon is still busy with the new QEMU.
    if (ctx) void ctx.then((c) => c.close()).catch(() => {});
  }
}

/** -H NAME's URI from the host list (loaded only then); with --connect as well it is a usage error. */
async function hostUri(globals: GlobalOptions): Promise<string> {
  const [{ UsageError }, { resolveHost }, { roostPaths }] = await Promise.all([
    import('../errors.js'),
    import('../vm/remote-hosts.js'),
    import('../paths.js'),
  ]);
  if (globals.connect !== undefined) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '-H and --connect both name the connection: give one of them',
    );
  }
  return resolveHost(roostPaths(), globals.host!);
}

/** The error as a user reads it, with what the rollback after it undid and what it left (and how to remove it). */
function describeFailure(err: unknown, caught: StopSignal | undefined): UserFacingError {
  // An interrupted download or wait fails with its own AbortError: the interruption is the story.
  const e =
    caught && !(err instanceof InterruptedError)
      ? describeError(new InterruptedError(caught, `interrupted (${caught})`))
      : describeError(err);
  const report = rollbackOf(err);
  if (!report) return e;
  return { ...e, detail: [e.detail, ...describeRollback(report)].filter(Boolean).join('\n') };
}

interface SignalTrap {
  interruption: Interruption;
  /** The first signal that came, if any. */
  readonly caught: StopSignal | undefined;
  release(): void;
}

function trapSignals(out: Output): SignalTrap {
  const first = new AbortController();
  const second = new AbortController();
  let caught: StopSignal | undefined;
  const onSignal = (sig: StopSignal) => {
    if (!caught) {
      caught = sig;
      out.warn(`${sig}: stopping after the current step and undoing what was made (again to stop the undo)`);
      first.abort(sig);
    } else if (!second.signal.aborted) {
      out.warn(`${sig} again: stopping the undo; what is left is listed below`);
      second.abort(sig);
    } else {
      // A third: the user wants out now, whatever is left.
      process.exit(SIGNAL_EXIT_CODES[caught]);
    }
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return {
    interruption: { signal: first.signal, stopRollback: second.signal },
    get caught() {
      return caught;
    },
    release: () => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    },
  };
}
