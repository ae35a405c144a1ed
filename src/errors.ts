// roost's own errors: every failure a user can meet has a stable code, a message that says what failed and why,
// and — where there is one — a hint with the fix. The CLI turns them into one or two lines and an exit code
// (2 for bad input, 1 for an operation that failed); the web API turns them into {error:{code,message}}.

export interface RoostErrorOptions {
  /** What to do about it, e.g. the exact command that fixes it. */
  hint?: string;
  /** More to read after the fix, several lines long: e.g. the end of the guest's console when its boot failed. */
  detail?: string;
  cause?: unknown;
}

export class RoostError extends Error {
  /** Exit code for the CLI: 1, an operation failed. */
  readonly exitCode: 1 | 2 = 1;
  readonly hint?: string;
  readonly detail?: string;

  constructor(
    readonly code: string,
    message: string,
    opts: RoostErrorOptions = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    if (opts.hint) this.hint = opts.hint;
    if (opts.detail) this.detail = opts.detail;
  }
}

/** Bad input: nothing was changed. Exit code 2. */
export class UsageError extends RoostError {
  override readonly exitCode = 2;
}

/** A VM, image or snapshot the user named does not exist. */
export class NotFoundError extends RoostError {}

/** The signals that stop a multi-step command (src/vm/steps.ts gives their exit codes). */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/**
 * The command was stopped by a signal, at a step boundary; the message says what was undone or kept. Here, at the
 * bottom, so that every layer (an image pull as much as a create) can say what its interruption left.
 */
export class InterruptedError extends RoostError {
  constructor(
    readonly signal: StopSignal,
    message: string,
    opts: RoostErrorOptions = {},
  ) {
    super('INTERRUPTED', message, opts);
  }
}

/**
 * Names `path` on a filesystem error that lacks one. Node reports a failed write (ENOSPC, EDQUOT, EIO) on the
 * file descriptor without the file's name; the user needs it to know which filesystem is full.
 */
export function withPath(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof Error && typeof e.code === 'string' && e.path === undefined) e.path = path;
  return err;
}
