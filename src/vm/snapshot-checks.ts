// What roost snapshot refuses, and libvirt's refusals said in the user's terms.
import { childElements, firstChild, parseXml } from '../domain-xml/xml.js';
import { RoostError, UsageError } from '../errors.js';
import { LibvirtError, VirErrorCode } from '../libvirt/errors.js';
import { quoted } from './input.js';

/** The guest directories a domain's shared folders (`<filesystem>` devices: 9p or virtiofs) are mounted on. */
export function sharedFolders(domainXml: string): string[] {
  const devices = firstChild(parseXml(domainXml).root, 'devices');
  if (!devices) return [];
  return childElements(devices, 'filesystem').map(
    (fs) => firstChild(fs, 'target')?.attrs.get('dir') ?? firstChild(fs, 'source')?.attrs.get('dir') ?? '?',
  );
}

/**
 * QEMU cannot save the memory of a guest with shared folders (the export is a migration blocker: the guest's
 * open files live on the host, outside the saved state). roost refuses rather than silently saving less than a
 * memory snapshot promises; a disk-only snapshot works.
 */
export function refuseSharedFolders(vm: string, snap: string, folders: string[]): void {
  if (folders.length === 0) return;
  throw new UsageError(
    'SNAPSHOT_SHARED_FOLDERS',
    `VM ${quoted(vm)} has shared folders (${folders.join(', ')}): shared folders cannot be saved with memory state`,
    {
      hint: `use --disk-only (a crash-consistent snapshot of its disks; shared folders are never part of a snapshot): roost snapshot create ${vm} ${snap} --disk-only`,
    },
  );
}

export function isAgentMissing(e: unknown): boolean {
  return (
    e instanceof LibvirtError &&
    (e.virErrorCode === VirErrorCode.AGENT_UNRESPONSIVE ||
      e.virErrorCode === VirErrorCode.AGENT_COMMAND_TIMEOUT ||
      /guest agent/i.test(e.message))
  );
}

/** libvirt's refusals, said in the user's terms. */
export function explainSnapshotFailure(e: unknown, vm: string, snap: string): unknown {
  if (!(e instanceof LibvirtError)) return e;
  if (/migration is disabled|virtfs/i.test(e.message)) {
    return new RoostError(
      'SNAPSHOT_SHARED_FOLDERS',
      `cannot save VM ${quoted(vm)}'s memory: QEMU cannot save a guest that has shared folders mounted (${e.message})`,
      {
        hint: `take a disk-only snapshot instead (shared folders are never part of a snapshot): roost snapshot create ${vm} ${snap} --disk-only`,
        cause: e,
      },
    );
  }
  return isBusy(e) ? busy(vm, e) : e;
}

/**
 * Another operation holds the VM: libvirt waits for its state change lock (held by a snapshot, a save, a
 * migration, a revert of another client) and gives up with OPERATION_TIMEOUT, or refuses a second async job.
 */
export function isBusy(e: unknown): e is LibvirtError {
  return (
    e instanceof LibvirtError &&
    (e.virErrorCode === VirErrorCode.OPERATION_TIMEOUT ||
      /cannot acquire state change lock|another .*job|job .*(already|in progress)/i.test(e.message))
  );
}

export function busy(vm: string, cause: LibvirtError): RoostError {
  return new RoostError('VM_BUSY', `VM ${quoted(vm)} is busy with another operation (${cause.message})`, {
    hint: 'wait for it to finish and try again',
    cause,
  });
}
