// Carrying out the VMs of a plan that need work (apply.ts): created, changed or removed by the use cases
// `roost create`, `edit`, `port`, `mount` and `autostart` run, several at a time, each on its own. apply.ts loads
// this only when the plan has something to do: an unchanged re-apply, the everyday case, never loads create's,
// edit's or remove's code at all.
import { ApplyStepError, changeSteps, runSteps } from './apply-change.js';
import { checkImagePin, createFromFile } from './apply-create.js';
import type { PlannedVm } from './apply-plan.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';
import { removeVm } from './remove.js';
import { ensurePool } from './storage.js';

/** Before any VM is touched: the image pins (a wrong image changes nothing), then roost's pool. */
export async function prepareRun(ctx: VmContext, vms: readonly PlannedVm[]): Promise<void> {
  for (const vm of vms) if (vm.action === 'create') await checkImagePin(ctx, vm.spec!);
  // Parallel creates would each define roost's pool on first use, and all but one would fail: made once here.
  if (vms.some((v) => v.action === 'create')) await ensurePool(ctx.client, ctx.paths);
}

/** Runs the queue with `parallel` workers; each VM's outcome and error are set on it. */
export async function runQueue(
  ctx: VmContext,
  queue: PlannedVm[],
  opts: { parallel: number; signal?: AbortSignal; onDone?: (vm: PlannedVm) => void },
): Promise<void> {
  const worker = async () => {
    for (let vm = queue.shift(); vm !== undefined; vm = queue.shift()) {
      await runOne(ctx, vm, opts.signal);
      opts.onDone?.(vm);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.parallel) }, worker));
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
