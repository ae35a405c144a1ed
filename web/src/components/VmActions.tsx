// Start, stop (ACPI), force off and delete for one VM; the destructive ones ask first. The state shown comes
// from the event stream, not from these calls' answers.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { VmSummary } from '../../../src/shared/api-types.js';
import { useConfirm } from './Confirm.js';
import { asFailure, type Failure } from './ErrorText.js';

export const isUp = (s: VmSummary['state']) =>
  s === 'running' || s === 'paused' || s === 'blocked' || s === 'shutdown';

/** `onError` hears a failed action (with the VM it was for) and null when the next one starts. */
export function VmActions(props: {
  vm: VmSummary;
  onError: (e: { vm: string; error: Failure } | null) => void;
}) {
  const { vm, onError } = props;
  const confirm = useConfirm();
  const [busy, setBusy] = useState<string | null>(null);
  const run = async (label: string, fn: () => Promise<unknown>) => {
    setBusy(label);
    onError(null);
    try {
      await fn();
    } catch (e) {
      onError({ vm: vm.name, error: asFailure(e) });
    } finally {
      setBusy(null);
    }
  };
  const up = isUp(vm.state);
  return (
    <div class="actions" role="group" aria-label={`Actions for ${vm.name}`}>
      {!up && (
        <button type="button" disabled={!!busy} onClick={() => run('Starting', () => api.start(vm.name))}>
          Start
        </button>
      )}
      {up && (
        <button type="button" disabled={!!busy} onClick={() => run('Stopping', () => api.stop(vm.name))}>
          Stop
        </button>
      )}
      {up && (
        <button
          type="button"
          class="danger-outline"
          disabled={busy === 'Forcing off'}
          onClick={async () => {
            const ok = await confirm({
              title: `Force off ${vm.name}?`,
              body: 'This pulls the plug: the guest gets no chance to shut down and unsaved data in it is lost.',
              action: 'Force off',
            });
            if (ok) await run('Forcing off', () => api.stop(vm.name, true));
          }}
        >
          Force off
        </button>
      )}
      <button
        type="button"
        class="danger-outline"
        disabled={!!busy}
        onClick={async () => {
          const ok = await confirm({
            title: `Delete ${vm.name}?`,
            body:
              (up ? 'It is running and will be forced off. ' : '') +
              'The VM and the disks roost made for it are deleted. Base images, ISOs and kernels are kept.',
            action: 'Delete',
          });
          if (ok) await run('Deleting', () => api.remove(vm.name));
        }}
      >
        Delete
      </button>
      {busy && (
        <span class="busy" role="status">
          {busy}…
        </span>
      )}
    </div>
  );
}
