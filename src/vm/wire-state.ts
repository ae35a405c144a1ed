// What the snapshot, clone and autostart use cases answer, in the shapes of src/shared/state.ts: the one place
// each answer that the CLI (`--json`) and the REST API both send is built (as wire.ts does for the VM verbs).
// Each builder names every field, so a field a use case adds for itself never leaks onto the wire.
import { formatPortForward } from '../net/port-spec.js';
import type {
  AutostartDisabled,
  AutostartEnabled,
  AutostartList,
  ClonedVm,
  CreatedSnapshot,
  RemovedSnapshot,
  RevertedSnapshot,
  SnapshotInfo,
  SnapshotList,
} from '../shared/state.js';
import type { AutostartOffResult, AutostartOnResult, SystemdState } from './autostart.js';
import type { CloneResult } from './clone.js';
import type {
  CreateSnapshotResult,
  RevertResult,
  SnapshotInfo as UseCaseSnapshot,
  SnapshotList as UseCaseSnapshotList,
} from './snapshot.js';

function snapshotInfo(s: UseCaseSnapshot): SnapshotInfo {
  return {
    name: s.name,
    description: s.description,
    createdAt: s.createdAt,
    state: s.state,
    parent: s.parent,
    kind: s.kind,
    memory: s.memory,
    current: s.current,
  };
}

/** `roost snapshot ls --json` and `GET /api/vms/:name/snapshots`. */
export function snapshotList(r: UseCaseSnapshotList): SnapshotList {
  return { name: r.name, current: r.current, snapshots: r.snapshots.map(snapshotInfo) };
}

/** `roost snapshot create --json` and `POST /api/vms/:name/snapshots`. */
export function createdSnapshot(r: CreateSnapshotResult): CreatedSnapshot {
  return { vm: r.vm, ...snapshotInfo(r), kindReason: r.kindReason, quiesced: r.quiesced };
}

/** `roost snapshot revert --json` and `POST /api/vms/:name/snapshots/:snap/revert`. */
export function revertedSnapshot(r: RevertResult): RevertedSnapshot {
  return { vm: r.vm, snapshot: r.snapshot, running: r.running };
}

/** `roost snapshot rm --json` and `DELETE /api/vms/:name/snapshots/:snap`. */
export function removedSnapshot(r: { vm: string; snapshot: string }): RemovedSnapshot {
  return { vm: r.vm, snapshot: r.snapshot };
}

/** `roost clone --json` and `POST /api/vms/:name/clone`. */
export function clonedVm(r: CloneResult): ClonedVm {
  return {
    name: r.name,
    source: r.source,
    uuid: r.uuid,
    linked: r.linked,
    state: 'shutoff',
    disks: r.disks,
    ports: r.ports.map(formatPortForward),
    chosenPorts: r.chosenPorts.map(formatPortForward),
    stoppedSource: r.stoppedSource,
    sshUser: r.sshUser ?? null,
    warnings: r.warnings,
  };
}

/** `roost autostart on --json` and `PUT /api/vms/:name/autostart`. */
export function autostartEnabled(r: AutostartOnResult): AutostartEnabled {
  return {
    name: r.name,
    unit: r.unit,
    path: r.path,
    atBoot: r.atBoot,
    lingerCommand: r.lingerCommand ?? null,
    warnings: r.warnings,
  };
}

/** `roost autostart off --json` and `DELETE /api/vms/:name/autostart`. */
export function autostartDisabled(r: AutostartOffResult): AutostartDisabled {
  return { name: r.name, removed: r.removed };
}

/** `roost autostart ls --json` and `GET /api/autostart`: the VMs sorted by name. */
export function autostartList(vms: Iterable<string>, sd: SystemdState): AutostartList {
  return {
    vms: [...vms].sort(),
    systemd: { installed: sd.installed, running: sd.running, userManager: sd.userManager, linger: sd.linger },
  };
}
