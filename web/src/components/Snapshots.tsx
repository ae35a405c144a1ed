// A VM's snapshots: the list (oldest first, the current one marked), take one with a name and a note, revert to
// one and delete one — both asked first, as neither can be undone.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { SnapshotInfo, SnapshotList, VmSummary } from '../../../src/shared/api-types.js';
import { useConfirm } from './Confirm.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';

/** When it was taken, as `roost snapshot ls` prints it. */
const taken = (s: SnapshotInfo) => s.createdAt?.replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '';
const saved = (s: SnapshotInfo) => (s.memory ? `${s.state ?? ''} (with memory)` : (s.state ?? ''));

export function Snapshots({ vm }: { vm: VmSummary }) {
  const confirm = useConfirm();
  const [list, setList] = useState<SnapshotList | null>(null);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<Failure>(null);
  const load = () => api.snapshots(vm.name).then(setList, (e: unknown) => setError(asFailure(e)));
  // A revert changes the VM's state: the list (its current snapshot) is read again with it.
  useEffect(() => void load(), [vm.name, vm.state]);

  const run = async (label: string, fn: () => Promise<string>) => {
    setBusy(label);
    setNote(null);
    setError(null);
    try {
      setNote(await fn());
      await load();
    } catch (e) {
      setError(asFailure(e));
    } finally {
      setBusy(null);
    }
  };
  const take = () =>
    run('Taking a snapshot', async () => {
      const body = { name: name.trim() || undefined, description: description.trim() || undefined };
      const r = await api.createSnapshot(vm.name, body);
      setName('');
      setDescription('');
      return `Snapshot ${r.name} taken (${r.memory ? 'disks and memory' : 'disks'}; ${r.kind}: ${r.kindReason}).`;
    });
  const revert = async (s: SnapshotInfo) => {
    const ok = await confirm({
      title: `Revert ${vm.name} to ${s.name}?`,
      body:
        `What ${vm.name} did since the snapshot is lost. ` +
        (s.memory ? 'It comes back running, as it was.' : 'It comes back shut off.'),
      action: 'Revert',
    });
    if (ok)
      await run('Reverting', async () => {
        const r = await api.revertSnapshot(vm.name, s.name);
        return `${vm.name} is back at ${r.snapshot} (${r.running ? 'running' : 'shut off'}).`;
      });
  };
  const remove = async (s: SnapshotInfo) => {
    const ok = await confirm({
      title: `Delete snapshot ${s.name} of ${vm.name}?`,
      body: 'You can no longer go back to it. The VM itself is not changed.',
      action: 'Delete',
    });
    if (ok)
      await run('Deleting', async () => {
        await api.deleteSnapshot(vm.name, s.name);
        return `Snapshot ${s.name} deleted.`;
      });
  };

  return (
    <section class="snapshots" aria-labelledby={`snapshots-${vm.name}`}>
      <h3 id={`snapshots-${vm.name}`}>Snapshots</h3>
      {list && list.snapshots.length === 0 && <p class="muted">No snapshots yet.</p>}
      {list && list.snapshots.length > 0 && (
        <table class="port-table snapshot-table">
          <caption class="sr-only">Snapshots of {vm.name}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Taken</th>
              <th scope="col">Saved</th>
              <th scope="col">Description</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.snapshots.map((s) => (
              <tr key={s.name} data-snapshot={s.name} data-current={s.current ? 'true' : undefined}>
                <td>
                  <code>{s.name}</code>
                  {s.current && <span class="muted"> (current)</span>}
                </td>
                <td>{taken(s)}</td>
                <td>
                  {saved(s)}, {s.kind}
                </td>
                <td>{s.description ?? ''}</td>
                <td class="snapshot-actions">
                  <button
                    type="button"
                    disabled={!!busy}
                    aria-label={`Revert to ${s.name}`}
                    onClick={() => revert(s)}
                  >
                    Revert
                  </button>
                  <button
                    type="button"
                    class="danger-outline"
                    disabled={!!busy}
                    aria-label={`Delete snapshot ${s.name}`}
                    onClick={() => remove(s)}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="row"
        aria-label={`Take a snapshot of ${vm.name}`}
        onSubmit={(e) => {
          e.preventDefault();
          void take();
        }}
      >
        <label>
          Snapshot name <span class="muted">(empty: the time)</span>
          <input
            name="snapshot-name"
            value={name}
            pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}"
            placeholder="before-upgrade"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Description
          <input
            name="snapshot-description"
            value={description}
            maxLength={4096}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={!!busy}>
          Take snapshot
        </button>
      </form>
      {busy && (
        <p class="busy" role="status">
          {busy}…
        </p>
      )}
      {note && (
        <p class="note" role="status">
          {note}
        </p>
      )}
      <ErrorText error={error} />
    </section>
  );
}
