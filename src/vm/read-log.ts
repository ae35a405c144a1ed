// A VM's log as one JSON answer (GET /api/vms/:name/logs, the shape of `roost logs --json`): the serial log from
// this host's disk, or through libvirt for a VM on another host (remote-logs.ts); QEMU's own log only here.
import type { VmLog } from '../shared/vms.js';
import type { VmContext } from './context.js';
import { logPath, readLog, type LogKind } from './logs.js';
import { isRemote } from './remote.js';

export async function readVmLog(ctx: VmContext, name: string, kind: LogKind): Promise<VmLog> {
  if (isRemote(ctx)) {
    const remote = await import('./remote-logs.js');
    if (kind === 'qemu') throw remote.remoteQemuLogRefused(name);
    const path = await logPath(ctx, name, kind);
    return { name, kind, path, text: await remote.readRemoteLog(ctx, path) };
  }
  const path = await logPath(ctx, name, kind);
  return { name, kind, path, text: readLog(path) };
}
