// One way to undo a multi-step command: each step that makes something registers how to unmake it, and on a
// failure or an interruption the undos run in reverse. What could not be undone is named with the command that
// removes it by hand, so a failure never leaves something the user has to hunt for.
import { ConnectionClosedError } from '../libvirt/errors.js';

export interface Undo {
  /** What was made, as a user names it: "disk /…/web.qcow2", "VM 'web'". */
  what: string;
  /** The command that removes it by hand, should the undo fail. */
  fix: string;
  /** Undoes it; resolves to false when there was nothing of this command's to undo (it never got made). */
  run(): Promise<unknown>;
}

export interface Leftover {
  what: string;
  fix: string;
  /** Why it is still there: the undo's error, or that the rollback was interrupted. */
  why: string;
}

export interface RollbackReport {
  /** What was made and removed again, in the order it was removed. */
  undone: string[];
  left: Leftover[];
}

export class Rollback {
  private readonly undos: Undo[] = [];

  /** Registers an undo; it runs before every undo registered earlier. */
  add(undo: Undo): void {
    this.undos.push(undo);
  }

  get empty(): boolean {
    return this.undos.length === 0;
  }

  /**
   * Runs the undos, last first. One that fails is retried once when the daemon went away under it (the client
   * reconnects, starting a new daemon); after that it is reported as left. Once `stop` is aborted (a second
   * Ctrl-C) the undos not yet run are reported as left, not run.
   */
  async run(stop?: AbortSignal): Promise<RollbackReport> {
    const report: RollbackReport = { undone: [], left: [] };
    for (const undo of this.undos.splice(0).reverse()) {
      if (stop?.aborted) {
        report.left.push({ what: undo.what, fix: undo.fix, why: 'the rollback was interrupted' });
        continue;
      }
      try {
        const did = await runOnce(undo).catch((e: unknown) =>
          isConnectionLoss(e) ? runOnce(undo) : Promise.reject(e),
        );
        if (did !== false) report.undone.push(undo.what);
      } catch (e) {
        report.left.push({ what: undo.what, fix: undo.fix, why: (e as Error)?.message ?? String(e) });
      }
    }
    return report;
  }
}

function runOnce(undo: Undo): Promise<unknown> {
  return Promise.resolve().then(() => undo.run());
}

function isConnectionLoss(e: unknown): boolean {
  for (let c = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    if (c instanceof ConnectionClosedError) return true;
  }
  return false;
}

const reports = new WeakMap<object, RollbackReport>();

/** Records on `err` what the rollback after it did, for the CLI to tell (the error keeps its code and exit code). */
export function withRollback(err: unknown, report: RollbackReport): unknown {
  const e = err instanceof Error ? err : new Error(String(err));
  reports.set(e, report);
  return e;
}

export function rollbackOf(err: unknown): RollbackReport | undefined {
  return typeof err === 'object' && err !== null ? reports.get(err) : undefined;
}

/**
 * The report as lines for a user: what was removed again, and what is left with the command that removes it
 * (one line per command: several leftovers often go with one `roost rm`).
 */
export function describeRollback(r: RollbackReport): string[] {
  const lines: string[] = [];
  if (r.undone.length > 0) lines.push(`rolled back: ${r.undone.join(', ')}`);
  if (r.left.length === 0 && r.undone.length > 0) lines.push('nothing was left behind');
  const byFix = new Map<string, Leftover[]>();
  for (const l of r.left) byFix.set(l.fix, [...(byFix.get(l.fix) ?? []), l]);
  for (const [fix, left] of byFix) {
    const whys = [...new Set(left.map((l) => l.why))].join('; ');
    lines.push(`left behind: ${left.map((l) => l.what).join(', ')} (${whys}); remove with: ${fix}`);
  }
  return lines;
}
