// Whether the VM starts when the user logs in (`roost autostart on|off`): a checkbox. Its state is the answer of
// the last change, or the VM's `autostart` as the list and its events carry it.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { VmSummary } from '../../../src/shared/api-types.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';

export function AutostartToggle({ vm }: { vm: VmSummary }) {
  const [on, setOn] = useState(vm.autostart);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<Failure>(null);
  useEffect(() => setOn(vm.autostart), [vm.name, vm.autostart]);

  const change = async (want: boolean) => {
    // The box shows what was asked at once, and goes back if the server refuses.
    setOn(want);
    setBusy(true);
    setNote(null);
    setError(null);
    try {
      if (want) {
        const r = await api.autostartOn(vm.name);
        setNote([`${vm.name} starts when you log in (${r.unit}).`, ...r.warnings].join(' '));
      } else {
        await api.autostartOff(vm.name);
        setNote(`${vm.name} no longer starts when you log in.`);
      }
    } catch (e) {
      setOn(!want);
      setError(asFailure(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="autostart">
      <label class="inline">
        <input
          type="checkbox"
          name="autostart"
          checked={on}
          disabled={busy}
          aria-describedby={`autostart-note-${vm.name}`}
          onChange={(e) => void change(e.currentTarget.checked)}
        />
        Start when I log in
      </label>
      <span id={`autostart-note-${vm.name}`} class="muted">
        {' '}
        a systemd user unit (roost autostart)
      </span>
      {note && (
        <p class="note" role="status">
          {note}
        </p>
      )}
      <ErrorText error={error} />
    </div>
  );
}
