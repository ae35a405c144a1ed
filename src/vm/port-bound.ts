// After a start or a re-plug: is every forward of the VM really listened on by its passt?
//
// passt binds the forwards it can and drops the others without a word (it fails only when it can bind none), so
// a VM could start, or `port add` re-plug its NIC, "fine" while a forward leads nowhere because another program
// holds the host port. roost compares the host's listening sockets before and after passt started
// (net/port-check.ts says why that way), and fails naming the port and who holds it. Only for a local session: over a remote
// connection the passt runs on another host, out of sight.
import { basename } from 'node:path';
import { RoostError } from '../errors.js';
import type { Domain } from '../libvirt/types.js';
import {
  hostListeners,
  listenerInodes,
  procNetFileOf,
  procNetFilesFor,
  readHostListeners,
  type HostListener,
  type ProcNetFile,
} from '../net/host-listeners.js';
import { unboundMessage, unboundPorts, type UnboundPort } from '../net/port-check.js';
import type { PortForward } from '../net/port-spec.js';
import type { VmContext } from './context.js';
import { libvirtVmProcesses, qemuRunDir } from './leftovers.js';

/** A forward of the VM that its passt does not listen on. */
export class ForwardNotBoundError extends RoostError {
  constructor(
    readonly vm: string,
    readonly unbound: UnboundPort[],
  ) {
    const first = unboundMessage(vm, unbound[0]!);
    const more = unbound.length > 1 ? ` (and ${unbound.length - 1} more: ${moreText(unbound)})` : '';
    super(unbound.some((u) => u.holder) ? 'PORT_IN_USE' : 'PORT_NOT_FORWARDED', first.message + more, {
      hint: first.hint,
    });
  }
}

function moreText(unbound: UnboundPort[]): string {
  return unbound
    .slice(1)
    .map((u) => `${u.port}/${u.forward.proto}${u.holder ? ` held by ${u.holder}` : ''}`)
    .join(', ');
}

/** The pids of the passt processes libvirt runs for the running domain `dom` (its short name: ID-NAME). */
export function passtPidsOf(runDir: string, dom: Pick<Domain, 'id' | 'name'>): number[] {
  const prefix = `${dom.id}-${dom.name.slice(0, 20)}-`;
  return libvirtVmProcesses(runDir)
    .filter((p) => p.kind === 'passt' && basename(p.file).startsWith(prefix))
    .map((p) => p.pid);
}

/**
 * The host's listeners from before a start or a plug-in: their inodes, read from the files of /proc/net in which
 * the forwards' own sockets will appear (each TCP file costs a walk of the kernel's socket tables).
 */
export interface ListenerSnapshot {
  inodes: ReadonlySet<number>;
  files: ReadonlySet<ProcNetFile>;
}

/**
 * The listeners before a start or a plug-in of `forwards`, for checkForwardsBound; undefined where roost cannot
 * look or there is nothing to check. Read without blocking, so that it can overlap the daemon's work.
 */
export async function listenersBefore(
  ctx: Pick<VmContext, 'uri' | 'env'>,
  forwards: readonly PortForward[],
): Promise<ListenerSnapshot | undefined> {
  if (forwards.length === 0 || !qemuRunDir(ctx)) return undefined;
  const files = procNetFilesFor(forwards);
  return { inodes: listenerInodes(await readHostListeners(undefined, files)), files: new Set(files) };
}

/**
 * The inodes to take as there before: the snapshot's, and every listener of a file the snapshot did not read —
 * one of those may be older than the start, so it never counts as the passt's.
 */
export function preExisting(before: ListenerSnapshot, now: readonly HostListener[]): Set<number> {
  const old = new Set(before.inodes);
  for (const l of now) if (!before.files.has(procNetFileOf(l))) old.add(l.inode);
  return old;
}

/**
 * Throws ForwardNotBoundError when a forward of the running `dom` is not listened on by its passt (a listener of
 * this user that was not there `before`). Says nothing when roost cannot see the passt (a remote connection, or
 * none found): it never fails a VM on a guess.
 */
export async function checkForwardsBound(
  ctx: Pick<VmContext, 'uri' | 'env'>,
  dom: Pick<Domain, 'id' | 'name'>,
  forwards: readonly PortForward[],
  before: ListenerSnapshot | undefined,
): Promise<void> {
  const runDir = qemuRunDir(ctx);
  if (forwards.length === 0 || !before || !runDir || dom.id <= 0) return;
  // The usual answer first, from the least reading: each forward has its new listener in the file of its own
  // address family. Anything else is looked at whole below (every file, and whether the VM has a passt at all).
  if (unboundPorts(forwards, before.inodes, hostListeners(undefined, [...before.files])).length === 0) return;
  if (passtPidsOf(runDir, dom).length === 0) return;
  const unboundNow = () => {
    const now = hostListeners();
    return unboundPorts(forwards, preExisting(before, now), now);
  };
  // passt listens before libvirt lets the start finish; a port nobody holds gets a moment's grace all the same.
  let unbound = unboundNow();
  for (let i = 0; i < 10 && unbound.length > 0 && unbound.every((u) => !u.holder); i++) {
    await new Promise((r) => setTimeout(r, 100));
    unbound = unboundNow();
  }
  if (unbound.length > 0) throw new ForwardNotBoundError(dom.name, unbound);
}
