// The "Snapshots" view of a VM: start at login, clone, and its snapshots.
import type { VmSummary } from '../../../src/shared/api-types.js';
import { AutostartToggle } from './AutostartToggle.js';
import { CloneDialog } from './CloneDialog.js';
import { Snapshots } from './Snapshots.js';

export function VmState({ vm }: { vm: VmSummary }) {
  return (
    <div class="vm-state">
      <div class="row">
        <AutostartToggle vm={vm} />
        <CloneDialog vm={vm} />
      </div>
      <Snapshots vm={vm} />
    </div>
  );
}
