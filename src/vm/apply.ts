// roost apply FILE…: make the VMs as the files describe them (docs/apply.md). The files are read and checked
// whole first (any problem: nothing changed, exit 2); then the session's VMs are read at once over one
// connection, the plan is made (apply-plan.ts) and shown; then each VM is created, changed or (with --prune)
// removed by the use cases `roost create`, `edit`, `port` and `autostart` run — several VMs at a time, each on
// its own (apply-run.ts). Each VM ends either as it was or as asked, and the result says which.
import { dirname, resolve as resolvePath } from 'node:path';
import { withAbsolutePaths } from '../declarative/paths.js';
import type { FileVm } from '../declarative/parse.js';
import { UsageError } from '../errors.js';
import type { ApplyResult, ApplyVm } from '../shared/declarative.js';
import { checkFileMounts } from './apply-mounts.js';
import { planPrune, planVm, type Desired, type PlannedVm } from './apply-plan.js';
import { readApplyFile, type ParsedFileCache } from './apply-read.js';
import { readCurrent, type CurrentVm } from './apply-state.js';
import { recordable } from './apply-mark.js';
import type { VmContext } from './context.js';

/** VMs created or changed at once: enough to overlap their waits, few enough for a laptop. */
export const APPLY_PARALLEL = 4;

export interface ApplyPlan {
  files: string[];
  vms: PlannedVm[];
}

/**
 * Reads and checks every file (a parse kept in `parsedCache` stands for an unchanged file's: apply-read.ts), then
 * plans against the session's VMs. Throws UsageError with nothing changed.
 */
export async function planApply(
  ctx: VmContext,
  files: readonly string[],
  opts: { prune?: boolean; parsedCache?: ParsedFileCache } = {},
): Promise<ApplyPlan> {
  if (files.length === 0)
    throw new UsageError('NO_FILE', 'no VM file given', { hint: 'roost apply vms.yaml' });
  const read: { abs: string; vms: FileVm[] }[] = [];
  for (const f of files) {
    const abs = resolvePath(f);
    read.push({ abs, vms: await readApplyFile(f, abs, opts.parsedCache) });
  }
  return planRead(ctx, read, { prune: opts.prune });
}

export interface PlanReadOptions {
  prune?: boolean;
  /** The file an existing VM is planned from; default: the one it was read from (apply-text.ts keeps the VM's own). */
  fileFor?: (d: Desired, current: CurrentVm | undefined) => string;
}

/** Plans VMs already read and checked: from files (above) or from a pasted text (apply-text.ts). */
export async function planRead(
  ctx: VmContext,
  read: { abs: string; vms: FileVm[] }[],
  opts: PlanReadOptions = {},
): Promise<ApplyPlan> {
  // Shared folders are checked against this host as create checks --mount: a refusal changes nothing.
  const desired = checkUnique(read).map((d) => ({ ...d, mounts: checkFileMounts(d.spec, ctx.env.HOME) }));
  const current = await readCurrent(ctx, new Set(desired.map((d) => d.spec.name)));
  const vms = desired.map((d) => {
    const cur = current.get(d.spec.name);
    return planVm(opts.fileFor ? { ...d, file: opts.fileFor(d, cur) } : d, cur);
  });
  const abs = [...new Set(read.map((r) => r.abs))];
  if (opts.prune) vms.push(...planPrune(abs, new Set(vms.map((v) => v.name)), current.values()));
  return { files: abs, vms };
}

function checkUnique(read: { abs: string; vms: FileVm[] }[]): { spec: FileVm['spec']; file: string }[] {
  const seen = new Map<string, FileVm>();
  const out: { spec: FileVm['spec']; file: string }[] = [];
  for (const r of read) {
    for (const vm of r.vms) {
      const first = seen.get(vm.spec.name);
      if (first !== undefined) {
        throw new UsageError(
          'APPLY_DUPLICATE_VM',
          `VM '${vm.spec.name}' is described twice: ${first.file}:${first.line} and ${vm.file}:${vm.line}`,
          { hint: 'describe each VM in one place' },
        );
      }
      seen.set(vm.spec.name, vm);
      out.push({ spec: withAbsolutePaths(vm.spec, dirname(r.abs)), file: r.abs });
    }
  }
  return out;
}

/** The plan as `roost apply --json` prints it (nothing run yet, or after the run). */
export function applyResult(plan: ApplyPlan, dryRun: boolean): ApplyResult {
  const vms: ApplyVm[] = plan.vms.map((v) => ({
    name: v.name,
    file: v.file,
    action: v.action,
    changes: v.changes,
    notes: v.notes,
    outcome: v.outcome,
    error: v.error,
  }));
  const ok = dryRun ? vms.every((v) => v.action === 'unchanged') : vms.every((v) => v.outcome === 'as-asked');
  return { files: plan.files, dryRun, vms, ok };
}

export interface RunOptions {
  parallel?: number;
  signal?: AbortSignal;
  /** Told as each VM is done (for the CLI's lines). */
  onDone?: (vm: PlannedVm) => void;
}

/**
 * Runs the plan: the pins first (a wrong image changes nothing), then every VM that needs work, several at a time.
 * A plan with nothing to do (every VM unchanged and recorded as from its file) loads none of the code that would
 * do it (apply-run.ts).
 */
export async function runApply(ctx: VmContext, plan: ApplyPlan, opts: RunOptions = {}): Promise<ApplyResult> {
  const queue = plan.vms.filter(
    (v) => v.action !== 'unchanged' || (v.current?.appliedFrom !== v.file && recordable(v.file)),
  );
  const run = queue.length === 0 ? undefined : await import('./apply-run.js');
  await run?.prepareRun(ctx, plan.vms);
  for (const vm of plan.vms) if (!queue.includes(vm)) vm.outcome = 'as-asked';
  await run?.runQueue(ctx, queue, { ...opts, parallel: opts.parallel ?? APPLY_PARALLEL });
  return applyResult(plan, false);
}
