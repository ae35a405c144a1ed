// roost apply FILE…: make the VMs as the files describe them (docs/apply.md). The files are read and checked
// whole first (any problem: nothing changed, exit 2); then the session's VMs are read at once over one
// connection, the plan is made (apply-plan.ts) and shown; then each VM is created, changed or (with --prune)
// removed by the use cases `roost create`, `edit`, `port` and `autostart` run — several VMs at a time, each on
// its own. Each VM ends either as it was or as asked, and the result says which.
import { dirname, resolve as resolvePath } from 'node:path';
import { withAbsolutePaths } from '../declarative/paths.js';
import { readVmFile } from '../declarative/read.js';
import type { FileVm } from '../declarative/parse.js';
import { UsageError } from '../errors.js';
import type { ApplyResult, ApplyVm } from '../shared/declarative.js';
import { ApplyStepError, changeSteps, runSteps } from './apply-change.js';
import { checkImagePin, createFromFile } from './apply-create.js';
import { checkFileMounts } from './apply-mounts.js';
import { planPrune, planVm, type Desired, type PlannedVm } from './apply-plan.js';
import { readCurrent, type CurrentVm } from './apply-state.js';
import { recordable } from './apply-mark.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';
import { removeVm } from './remove.js';
import { ensurePool } from './storage.js';

/** VMs created or changed at once: enough to overlap their waits, few enough for a laptop. */
export const APPLY_PARALLEL = 4;

export interface ApplyPlan {
  files: string[];
  vms: PlannedVm[];
}

/** Reads and checks every file, then plans against the session's VMs. Throws UsageError with nothing changed. */
export async function planApply(
  ctx: VmContext,
  files: readonly string[],
  opts: { prune?: boolean } = {},
): Promise<ApplyPlan> {
  if (files.length === 0)
    throw new UsageError('NO_FILE', 'no VM file given', { hint: 'roost apply vms.yaml' });
  const read = files.map((f) => ({ abs: resolvePath(f), vms: readVmFile(f) }));
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

/** Runs the plan: the pins first (a wrong image changes nothing), then every VM, several at a time. */
export async function runApply(ctx: VmContext, plan: ApplyPlan, opts: RunOptions = {}): Promise<ApplyResult> {
  for (const vm of plan.vms) if (vm.action === 'create') await checkImagePin(ctx, vm.spec!);
  // Parallel creates would each define roost's pool on first use, and all but one would fail: made once here.
  if (plan.vms.some((v) => v.action === 'create')) await ensurePool(ctx.client, ctx.paths);
  const queue = plan.vms.filter(
    (v) => v.action !== 'unchanged' || (v.current?.appliedFrom !== v.file && recordable(v.file)),
  );
  for (const vm of plan.vms) if (!queue.includes(vm)) vm.outcome = 'as-asked';
  const worker = async () => {
    for (let vm = queue.shift(); vm !== undefined; vm = queue.shift()) {
      await runOne(ctx, vm, opts.signal);
      opts.onDone?.(vm);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.parallel ?? APPLY_PARALLEL) }, worker));
  return applyResult(plan, false);
}

async function runOne(ctx: VmContext, vm: PlannedVm, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) {
    vm.error = `not started: interrupted (${String(signal.reason)})`;
    vm.outcome = 'as-it-was';
    return;
  }
  try {
    if (vm.action === 'create') await createFromFile(ctx, vm.spec!, vm.file, signal);
    else if (vm.action === 'remove') await removeVm(ctx, vm.name, { force: true });
    else await runSteps(changeSteps(ctx, vm));
    vm.outcome = 'as-asked';
  } catch (e) {
    vm.error = e instanceof Error ? e.message : String(e);
    vm.outcome = await outcomeAfter(ctx, vm, e);
  }
}

/** After a failure: a create or remove is judged by whether the VM exists; a change by its steps' undo. */
async function outcomeAfter(ctx: VmContext, vm: PlannedVm, e: unknown): Promise<PlannedVm['outcome']> {
  if (e instanceof ApplyStepError) return e.outcome;
  if (vm.action === 'change' || vm.action === 'unchanged') return 'as-it-was';
  const exists = await lookupVm(ctx, vm.name).then(
    () => true,
    () => false,
  );
  if (vm.action === 'create') return exists ? 'partly' : 'as-it-was';
  return exists ? 'as-it-was' : 'partly';
}
