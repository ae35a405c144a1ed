// Finding a VM by name, with the error a user can act on when it is not there.
import { NotFoundError } from '../errors.js';
import { isNotFound } from '../libvirt/errors.js';
import type { Domain } from '../libvirt/types.js';
import { VM_STATES, type VmState } from '../shared/vms.js';
import type { VmContext } from './context.js';
import { checkVmRef, quoted } from './input.js';

export async function lookupVm(ctx: VmContext, name: string): Promise<Domain> {
  checkVmRef(name);
  try {
    return await ctx.client.lookupDomain(name);
  } catch (e) {
    if (isNotFound(e)) throw vmNotFound(ctx, name, e);
    throw e;
  }
}

function vmNotFound(ctx: VmContext, name: string, cause: unknown): NotFoundError {
  return new NotFoundError('VM_NOT_FOUND', `no VM named ${quoted(name)} on ${ctx.uri}`, {
    hint: 'list them with: roost ls',
    cause,
  });
}

/**
 * Looks a VM up and reads it with `read`. Another client may remove (or remove and define again) the VM between
 * the lookup and the reads: libvirt then answers "no domain with matching uuid". The name is looked up once more
 * (a VM defined again under that name is read afresh); a VM that is gone is "no VM named", as if it had never
 * been there, never a raw libvirt error.
 */
export async function readVm<T>(ctx: VmContext, name: string, read: (dom: Domain) => Promise<T>): Promise<T> {
  try {
    return await read(await lookupVm(ctx, name));
  } catch (e) {
    if (!isGone(e)) throw e;
  }
  const dom = await lookupVm(ctx, name);
  try {
    return await read(dom);
  } catch (e) {
    if (isGone(e)) throw vmNotFound(ctx, name, e);
    throw e;
  }
}

/**
 * Reads every VM with `read`, leaving out those removed while they were read (libvirt's not-found answer for a
 * domain the list returned a moment before): a listing shows the VMs that exist, it does not fail because one
 * went away. Pipelined: all reads are in flight at once.
 */
export async function readEachVm<T>(
  doms: readonly Domain[],
  read: (dom: Domain) => Promise<T>,
): Promise<{ dom: Domain; value: T }[]> {
  const rows = await Promise.all(
    doms.map((dom) =>
      read(dom).then(
        (value) => ({ dom, value }),
        (e: unknown) => {
          if (isGone(e)) return null;
          throw e;
        },
      ),
    ),
  );
  return rows.filter((r): r is { dom: Domain; value: T } => r !== null);
}

/** A domain read failed because the domain no longer exists (libvirt's not-found codes). */
export function isGone(e: unknown): boolean {
  return !(e instanceof NotFoundError) && isNotFound(e);
}

/** libvirt's domain states by number (virDomainState). */
export const STATE_NAMES = VM_STATES;
export type { VmState } from '../shared/api-types.js';

export function stateName(n: number): VmState {
  return STATE_NAMES[n] ?? 'nostate';
}

/** Formats libvirt's 16-byte UUID as the usual 8-4-4-4-12 text. */
export function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
