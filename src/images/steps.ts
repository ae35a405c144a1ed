// Where a pull or an import may stop. Both run named steps (a pull: lock, checksum, download, decompress, check,
// commit; an import: copy or decompress, check, hash, commit). An interruption — the AbortSignal the CLI aborts
// on SIGINT, SIGTERM or SIGHUP — takes effect at the next step boundary, or cuts a download or decompression
// short; either way the error is an InterruptedError that says what was kept. Nothing reaches the cache before
// the commit step, and the commit is never cut in half.
//
// `boundary` is the caller's hook at each step: the CLI passes src/vm/steps.ts's, which pauses there under
// ROOST_TEST_PAUSE_AT=image-pull:download (and so on) for the fault-injection suite (test/faults/).
import { InterruptedError, type StopSignal } from '../errors.js';

/** Awaited at each step boundary with the step's name; it may throw once the signal is aborted. */
export type StepBoundary = (step: string) => Promise<void>;

/** What an interrupted command leaves, for its message: a sentence, and the command that deals with it. */
export interface Kept {
  what: string;
  hint?: string;
}

export class ImageSteps {
  /** The last boundary reached: how far the command got (an interrupted pull's message depends on it). */
  reached: string | undefined;

  constructor(
    /** The command as the user typed it, for messages: `roost image pull debian-12`. */
    private readonly command: string,
    readonly signal: AbortSignal | undefined,
    private readonly hook: StepBoundary | undefined,
  ) {}

  /** A step boundary: the hook runs, then an interruption stops the command here. */
  async at(step: string): Promise<void> {
    this.reached = step;
    try {
      await this.hook?.(step);
    } catch (e) {
      if (!this.signal?.aborted) throw e;
    }
    if (this.signal?.aborted) throw new StoppedAtBoundary(step);
  }

  /** A boundary past the commit: the hook runs, but an interruption no longer undoes anything. */
  async after(step: string): Promise<void> {
    await this.hook?.(step).catch(() => {});
  }

  /**
   * `e`, unless the command was interrupted: then the interruption, saying what `kept` finds left. (A download
   * or a decompression cut short fails with its own abort error, a boundary with StoppedAtBoundary: the signal
   * is the story either way.)
   */
  async explain(e: unknown, kept: () => Promise<Kept>): Promise<unknown> {
    if (!this.signal?.aborted) return e;
    return this.interrupted(await kept());
  }

  private interrupted(kept: Kept): InterruptedError {
    const sig = stopSignalOf(this.signal?.reason);
    return new InterruptedError(sig, `${this.command} was interrupted (${sig}): ${kept.what}`, {
      hint: kept.hint,
    });
  }
}

/** Thrown by a boundary once interrupted; `explain` turns it into the InterruptedError. */
class StoppedAtBoundary extends Error {
  constructor(readonly step: string) {
    super(`stopped before ${step}`);
  }
}

function stopSignalOf(reason: unknown): StopSignal {
  return reason === 'SIGTERM' || reason === 'SIGHUP' ? reason : 'SIGINT';
}
