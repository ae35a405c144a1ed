// roost stop: asks the guest to shut down (ACPI power button, or the guest agent when it runs) and waits for it;
// --force pulls the plug (libvirt's destroy). A guest that ignores the request is reported with the way out,
// never forced off without being asked.
import { RoostError } from '../errors.js';
import { DomainState } from '../libvirt/types.js';
import type { StoppedVm } from '../shared/vms.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';

export const DEFAULT_STOP_TIMEOUT_S = 60;
const RESEND_SHUTDOWN_MS = 5_000;

export interface StopOptions {
  force?: boolean;
  timeoutS?: number;
}

export async function stopVm(ctx: VmContext, name: string, opts: StopOptions = {}): Promise<StoppedVm> {
  const { client } = ctx;
  const dom = await lookupVm(ctx, name);
  if (!(await client.isActive(dom))) return { name, alreadyStopped: true, forced: false };
  if (opts.force) {
    await client.destroyDomain(dom);
    return { name, alreadyStopped: false, forced: true };
  }
  const timeoutS = opts.timeoutS ?? DEFAULT_STOP_TIMEOUT_S;
  const deadline = Date.now() + timeoutS * 1000;
  let nextRequest = 0;
  while (Date.now() < deadline) {
    // A guest still booting ignores the power button (no ACPI handler yet), and libvirt does not press it again:
    // we do, every few seconds, until the guest goes or the time is up.
    if (Date.now() >= nextRequest) {
      await client.shutdownDomain(dom).catch(() => {});
      nextRequest = Date.now() + RESEND_SHUTDOWN_MS;
    }
    if ((await client.getState(dom)).state === DomainState.SHUTOFF)
      return { name, alreadyStopped: false, forced: false };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new RoostError(
    'STOP_TIMEOUT',
    `VM '${name}' did not shut down within ${timeoutS} s (the guest may ignore ACPI)`,
    {
      hint: `force it off: roost stop --force ${name}`,
    },
  );
}
