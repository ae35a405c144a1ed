// What the use cases answer, in the shapes of src/shared: the one place each answer that the CLI (`--json`) and
// the REST API both send is built, so the two cannot drift apart.
import { formatPortForward } from '../net/port-spec.js';
import type { VmAddresses } from '../shared/ports.js';
import type { SnapshotSummary } from '../shared/state.js';
import type { CreatedVm, StartedVm, VmDetails, VmInfo } from '../shared/vms.js';
import type { CreateResult } from './create.js';
import type { StartResult } from './start.js';

/** `roost create --json` and `POST /api/vms`; `waitedMs` is null when nothing was waited for. */
export function createdVm(r: CreateResult, waitedMs: number | null): CreatedVm {
  return {
    name: r.name,
    uuid: r.uuid,
    state: r.started ? 'running' : 'shutoff',
    accel: r.accel.accel,
    accelReason: r.accel.reason,
    disk: r.disk ?? null,
    ports: r.ports.map(formatPortForward),
    sshUser: r.sshUser ?? null,
    warnings: r.warnings,
    mounts: r.mounts,
    waitedMs,
  };
}

/** `roost start --json` and `POST /api/vms/:name/start`. */
export function startedVm(r: StartResult, waitedMs: number | null): StartedVm {
  return { name: r.name, alreadyRunning: r.alreadyRunning, waitedMs };
}

/**
 * `roost info --json` and `GET /api/vms/:name`: the details, the address `roost ip` found first, and how many
 * snapshots the VM has.
 */
export function vmInfo(details: VmDetails, found: VmAddresses | null, snapshots: SnapshotSummary): VmInfo {
  const source = found?.nics.flatMap((n) => n.addresses).find((a) => a.ip === found.ip);
  return {
    ...details,
    ip: found?.ip ?? null,
    ipSource: source ? { source: source.source, where: source.where ?? null } : null,
    snapshots: { count: snapshots.count, current: snapshots.current },
  };
}
