// "Apply a file…": paste a VM file, see the plan (a dry run: nothing changes), then confirm to carry it out, as
// `roost apply` prints its plan first. The plan is for the text as it was planned: editing it asks for a new
// plan. A pasted file has no directory (paths are absolute or ~/…), and there is no prune here (docs/web.md).
// New VMs come into the list with their 'defined' events.
import { useRef, useState } from 'preact/hooks';
import { declarativeApi } from '../declarative-api.js';
import type { ApplyResult, ApplyVm } from '../../../src/shared/api-types.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';

/** One VM's lines, as `roost apply` prints them: + create, ~ change field: old → new, = unchanged. */
function planLines(vm: ApplyVm): string[] {
  const head =
    vm.action === 'create'
      ? `+ create ${vm.name}`
      : vm.action === 'unchanged'
        ? `= unchanged ${vm.name}`
        : null;
  const changes = vm.changes.map(
    (c) =>
      `~ change ${vm.name} ${c.field}: ${c.from ?? '(none)'} → ${c.to ?? '(none)'} (${c.when === 'live' ? 'live' : 'at next start'})`,
  );
  return [...(head ? [head] : []), ...changes, ...vm.notes.map((n) => `! ${vm.name} ${n}`)];
}

/** What became of one VM after the run. */
function outcomeLine(vm: ApplyVm): string {
  if (vm.outcome === 'as-asked') return `✓ ${vm.name}: as the file asks`;
  return `✗ ${vm.name}: ${vm.outcome === 'partly' ? 'partly changed' : 'left as it was'} — ${vm.error ?? ''}`;
}

export function ApplyDialog() {
  const dialog = useRef<HTMLDialogElement>(null);
  const [yaml, setYaml] = useState('');
  const [plan, setPlan] = useState<{ yaml: string; result: ApplyResult } | null>(null);
  const [done, setDone] = useState<ApplyResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Failure>(null);
  const planned = plan !== null && plan.yaml === yaml;
  const nothingToDo = planned && plan.result.vms.every((v) => v.action === 'unchanged');

  const open = () => {
    setPlan(null);
    setDone(null);
    setError(null);
    dialog.current?.showModal();
  };
  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const result = await declarativeApi.apply({ yaml, dryRun });
      if (dryRun) setPlan({ yaml, result });
      else setDone(result);
    } catch (e) {
      setPlan(null);
      setError(asFailure(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="apply-file">
      <button type="button" onClick={open}>
        Apply a file…
      </button>
      <dialog ref={dialog} class="confirm wide" aria-labelledby="apply-title">
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            void run(!planned);
          }}
        >
          <h2 id="apply-title">Apply a VM file</h2>
          <label>
            The file (YAML, as <code>roost export</code> writes it; paths absolute or <code>~/…</code>)
            <textarea
              class="yaml"
              name="vm-file"
              rows={14}
              spellcheck={false}
              value={yaml}
              required
              onInput={(e) => {
                setYaml(e.currentTarget.value);
                // Another text is another file: its own plan first.
                setDone(null);
              }}
            />
          </label>
          <ErrorText error={error} />
          {planned && !done && (
            <div role="status" data-testid="apply-plan">
              <h3>Plan (nothing changed yet)</h3>
              <pre class="plan">{plan.result.vms.flatMap(planLines).join('\n')}</pre>
              {nothingToDo && <p>Every VM is already as the file asks: nothing to apply.</p>}
            </div>
          )}
          {done && (
            <div role="status" data-testid="apply-result" data-ok={String(done.ok)}>
              <h3>{done.ok ? 'Applied' : 'Not all VMs are as the file asks'}</h3>
              <pre class="plan">{done.vms.map(outcomeLine).join('\n')}</pre>
            </div>
          )}
          <div class="row end">
            <button type="button" onClick={() => dialog.current?.close()}>
              {done ? 'Close' : 'Cancel'}
            </button>
            <button type="submit" class="primary" disabled={busy || !yaml.trim() || nothingToDo || !!done}>
              {busy ? 'Working…' : planned ? 'Apply' : 'Show plan'}
            </button>
          </div>
        </form>
      </dialog>
    </div>
  );
}
