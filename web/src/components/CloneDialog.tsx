// Clone: a modal dialog asking the copy's name and whether it is linked (an overlay on this VM's disk). A running
// VM must be shut down first: the dialog offers to, and says so. The new VM's row comes with its 'defined' event.
import { useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { VmSummary } from '../../../src/shared/api-types.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';
import { isUp } from './VmActions.js';

export function CloneDialog({ vm }: { vm: VmSummary }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [name, setName] = useState('');
  const [linked, setLinked] = useState(false);
  const [stop, setStop] = useState(false);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<Failure>(null);
  const up = isUp(vm.state);
  const id = `clone-${vm.name}`;

  const open = () => {
    setName(`${vm.name}-copy`.slice(0, 63));
    setError(null);
    dialog.current?.showModal();
  };
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.clone(vm.name, { name: name.trim(), linked, ...(up ? { stop } : {}) });
      const chosen = r.chosenPorts.length ? ` Ports chosen: ${r.chosenPorts.join(', ')}.` : '';
      setNote(`${r.name} is a ${r.linked ? 'linked clone' : 'copy'} of ${r.source} (shut off).${chosen}`);
      dialog.current?.close();
    } catch (e) {
      setError(asFailure(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="clone">
      <button type="button" onClick={open}>
        Clone…
      </button>
      {note && (
        <p class="note" role="status">
          {note}
        </p>
      )}
      <dialog ref={dialog} class="confirm" aria-labelledby={`${id}-title`}>
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <h2 id={`${id}-title`}>Clone {vm.name}</h2>
          <label>
            Name of the new VM
            <input
              name="clone-name"
              value={name}
              required
              autofocus
              pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}"
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <label class="inline">
            <input
              type="checkbox"
              name="linked"
              checked={linked}
              onChange={(e) => setLinked(e.currentTarget.checked)}
            />
            Linked: an overlay on this VM's disk (instant; {vm.name} cannot be deleted while the clone exists)
          </label>
          {up && (
            <label class="inline">
              <input
                type="checkbox"
                name="stop"
                checked={stop}
                onChange={(e) => setStop(e.currentTarget.checked)}
              />
              Shut {vm.name} down first (it runs; a clone is made from a shut-off VM)
            </label>
          )}
          <ErrorText error={error} />
          <div class="row end">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Cloning…' : 'Clone'}
            </button>
          </div>
        </form>
      </dialog>
    </div>
  );
}
