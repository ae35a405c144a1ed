// Finding a VM by name, with the error a user can act on when it is not there.
import { NotFoundError } from '../errors.js';
import { isNotFound } from '../libvirt/errors.js';
import type { Domain } from '../libvirt/types.js';
import type { VmState } from '../shared/api-types.js';
import type { VmContext } from './context.js';
import { checkVmRef, quoted } from './input.js';

export async function lookupVm(ctx: VmContext, name: string): Promise<Domain> {
  checkVmRef(name);
  try {
    return await ctx.client.lookupDomain(name);
  } catch (e) {
    if (isNotFound(e)) {
      throw new NotFoundError('VM_NOT_FOUND', `no VM named ${quoted(name)} on ${ctx.uri}`, {
        hint: 'list them with: roost ls',
        cause: e,
      });
    }
    throw e;
  }
}

/** libvirt's domain states by number (virDomainState). */
export const STATE_NAMES = [
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
] as const satisfies readonly VmState[];
export type { VmState } from '../shared/api-types.js';

export function stateName(n: number): VmState {
  return STATE_NAMES[n] ?? 'nostate';
}

/** Formats libvirt's 16-byte UUID as the usual 8-4-4-4-12 text. */
export function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
