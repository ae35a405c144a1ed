// Changing an existing VM as its file asks, step by step, each step with its undo: CPUs and memory (one define),
// the forwards that go, the forwards that come, the shared folders that go and come, autostart, the mark of the
// file. A step that fails undoes the
// ones before it, so the VM is as it was — or, when an undo fails too, the error says what is left. The disk
// grows last: a grown disk cannot shrink back, so nothing may fail after it.
import { RoostError } from '../errors.js';
import type { ApplyOutcome } from '../shared/declarative.js';
import { markApplied, recordable } from './apply-mark.js';
import { argOfChecked, argOfRow } from './apply-mounts.js';
import type { PlannedVm } from './apply-plan.js';
import { autostartOff, autostartOn } from './autostart.js';
import type { VmContext } from './context.js';
import { editVm } from './edit.js';
import { addMount, removeMount } from './mounts.js';
import { addPorts, removePorts } from './ports.js';

interface Step {
  what: string;
  run: () => Promise<unknown>;
  undo?: () => Promise<unknown>;
}

/** The steps of one VM's change, in order. */
export function changeSteps(ctx: VmContext, vm: PlannedVm): Step[] {
  const cur = vm.current!;
  const { edit } = vm;
  const steps: Step[] = [];
  if (edit.cpus !== undefined || edit.memoryMiB !== undefined) {
    steps.push({
      what: 'cpus and memory',
      run: () => editVm(ctx, vm.name, { cpus: opt(edit.cpus), memory: mib(edit.memoryMiB) }),
      undo: () =>
        editVm(ctx, vm.name, {
          cpus: edit.cpus === undefined ? undefined : String(cur.parsed.cpus),
          memory: edit.memoryMiB === undefined ? undefined : `${cur.parsed.memoryMiB}M`,
        }),
    });
  }
  if (edit.removePorts.length > 0) {
    steps.push({
      what: 'removing forwards',
      run: () => removePorts(ctx, vm.name, edit.removePorts),
      undo: () => addPorts(ctx, vm.name, edit.removePorts),
    });
  }
  if (edit.addPorts.length > 0) {
    steps.push({
      what: 'adding forwards',
      run: () => addPorts(ctx, vm.name, edit.addPorts),
      undo: () => removePorts(ctx, vm.name, edit.addPorts),
    });
  }
  steps.push(...mountSteps(ctx, vm));
  if (edit.autostart !== undefined) steps.push(autostartStep(ctx, vm.name, edit.autostart));
  if (cur.appliedFrom !== vm.file && recordable(vm.file)) {
    steps.push({ what: 'recording the file', run: () => markApplied(ctx, cur.dom, vm.file, cur.running) });
  }
  if (edit.diskBytes !== undefined) {
    steps.push({
      what: 'growing the disk',
      run: () => editVm(ctx, vm.name, { disk: `${Math.ceil(edit.diskBytes! / 1024)}K` }),
    });
  }
  return steps;
}

/** One step per shared folder: those that go first (a folder may come back on the same guest directory). */
function mountSteps(ctx: VmContext, vm: PlannedVm): Step[] {
  const gone = vm.edit.removeMounts.map((row) => {
    const back = argOfRow(row);
    return {
      what: `removing the shared folder ${row.hostDir}`,
      run: () => removeMount(ctx, vm.name, row.tag),
      undo: back === undefined ? undefined : () => addMount(ctx, vm.name, back),
    };
  });
  const come = vm.edit.addMounts.map((m) => ({
    what: `adding the shared folder ${m.hostDir}`,
    run: () => addMount(ctx, vm.name, argOfChecked(m)),
    undo: () => removeMount(ctx, vm.name, m.guestDir),
  }));
  return [...gone, ...come];
}

function autostartStep(ctx: VmContext, name: string, on: boolean): Step {
  const turnOn = () => autostartOn(ctx.uri, name, false, { env: ctx.env });
  const turnOff = () => Promise.resolve(autostartOff(name, ctx.env));
  return { what: `autostart ${on ? 'on' : 'off'}`, run: on ? turnOn : turnOff, undo: on ? turnOff : turnOn };
}

const opt = (n: number | undefined) => (n === undefined ? undefined : String(n));
const mib = (n: number | undefined) => (n === undefined ? undefined : `${n}M`);

/** Runs the steps; on a failure undoes the done ones in reverse and throws, carrying the outcome. */
export async function runSteps(steps: readonly Step[]): Promise<void> {
  const done: Step[] = [];
  for (const step of steps) {
    try {
      await step.run();
      done.push(step);
    } catch (e) {
      const left: string[] = [];
      for (const d of done.reverse()) {
        if (d.undo === undefined) continue;
        await d
          .undo()
          .catch((u: unknown) => left.push(`${d.what} (${u instanceof Error ? u.message : String(u)})`));
      }
      throw new ApplyStepError(step.what, e, left);
    }
  }
}

/** A change that failed: which step, why, and what could not be undone ('partly') or that all was ('as-it-was'). */
export class ApplyStepError extends RoostError {
  readonly outcome: ApplyOutcome;
  constructor(step: string, cause: unknown, left: string[]) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      'APPLY_STEP_FAILED',
      left.length === 0
        ? `${step} failed: ${why}; what was done before it is undone`
        : `${step} failed: ${why}; these could not be undone: ${left.join('; ')}`,
      { cause },
    );
    this.outcome = left.length === 0 ? 'as-it-was' : 'partly';
  }
}
