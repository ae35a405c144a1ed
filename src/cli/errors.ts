// Turning any error into what a user reads: one or two lines (what failed and why, then the fix) and an exit
// code — 2 for bad input, 1 for a failed operation (docs/architecture.md, Exit codes). Library errors that carry
// no hint get one here.
import { dirname } from 'node:path';
import { RoostError } from '../errors.js';
import { CallTimeoutError, ConnectionClosedError, LibvirtError, VirErrorCode } from '../libvirt/errors.js';
import { DaemonUnavailableError, SocketConnectError } from '../libvirt/errors.js';
import { UriError } from '../libvirt/uri.js';

export interface UserFacingError {
  code: string;
  message: string;
  hint?: string;
  /** Shown after the fix (several lines). */
  detail?: string;
  exitCode: 1 | 2;
}

export function describeError(err: unknown): UserFacingError {
  if (err instanceof RoostError) {
    return {
      code: err.code,
      message: err.message,
      hint: err.hint,
      detail: err.detail,
      exitCode: err.exitCode,
    };
  }
  if (err instanceof UriError) {
    return { code: err.code, message: err.message, exitCode: 2 };
  }
  if (err instanceof DaemonUnavailableError || err instanceof SocketConnectError) {
    return {
      code: err.code,
      message: err.message,
      hint: 'check the host with: roost doctor',
      exitCode: 1,
    };
  }
  if (err instanceof ConnectionClosedError) {
    return {
      code: err.code,
      // Every ConnectionClosedError the client raises is a whole sentence about the connection (libvirt/errors.ts's
      // default too): a prefix here once read "closed the connection: closed the connection".
      message: err.message,
      hint: 'run the command again (a new daemon starts on demand); if it keeps failing: roost doctor',
      exitCode: 1,
    };
  }
  if (err instanceof CallTimeoutError) {
    return {
      code: err.code,
      message: err.message,
      hint: 'check the remote host (is its libvirt daemon alive and not overloaded?), then run the command again',
      exitCode: 1,
    };
  }
  const full = noSpace(err);
  if (full) return full;
  if (err instanceof LibvirtError && err.virErrorCode === VirErrorCode.NO_DOMAIN) {
    // A VM removed by another client while this command worked on it: the reads that list or look up VMs
    // handle it (vm/lookup.ts); this is the net under any other step.
    return {
      code: 'VM_NOT_FOUND',
      message: `the VM no longer exists: it was removed while roost worked on it (libvirt: ${err.message})`,
      hint: 'list them with: roost ls',
      exitCode: 1,
    };
  }
  if (err instanceof LibvirtError) {
    return { code: `LIBVIRT_${err.virErrorCode}`, message: `libvirt: ${err.message}`, exitCode: 1 };
  }
  const e = err as Error;
  return { code: 'INTERNAL', message: e?.message ?? String(err), exitCode: 1 };
}

/**
 * A full filesystem (or a used-up quota), from Node (ENOSPC/EDQUOT with the path it wrote) or from the daemon
 * (qemu-img or libvirt writing a volume: "No space left on device" in its message): NO_SPACE, with the path.
 */
function noSpace(err: unknown): UserFacingError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const errno = e as NodeJS.ErrnoException & { dest?: string };
    if (errno.code === 'ENOSPC' || errno.code === 'EDQUOT') {
      const what = errno.code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device';
      const path = errno.path ?? errno.dest;
      return {
        code: 'NO_SPACE',
        message: path ? `${what}: cannot write ${path}` : `${what} (${errno.message})`,
        hint: `free space on that filesystem (see: df -h${path ? ` ${dirname(path)}` : ''}) and run the command again`,
        exitCode: 1,
      };
    }
    if (e instanceof LibvirtError && /No space left on device|Disk quota exceeded/i.test(e.message)) {
      return {
        code: 'NO_SPACE',
        message: `libvirt: ${e.message}`,
        hint: 'free space on the filesystem named there (df -h) and run the command again',
        exitCode: 1,
      };
    }
  }
  return undefined;
}
