// Turning any error into what a user reads: one or two lines (what failed and why, then the fix) and an exit
// code — 2 for bad input, 1 for a failed operation (DESIGN §3). Library errors that carry no hint get one here.
import { RoostError } from '../errors.js';
import { CallTimeoutError, ConnectionClosedError, LibvirtError } from '../libvirt/errors.js';
import { DaemonUnavailableError, SocketConnectError } from '../libvirt/session.js';
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
      message: `the libvirt daemon closed the connection: ${err.message}`,
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
  if (err instanceof LibvirtError) {
    return { code: `LIBVIRT_${err.virErrorCode}`, message: `libvirt: ${err.message}`, exitCode: 1 };
  }
  const e = err as Error;
  return { code: 'INTERNAL', message: e?.message ?? String(err), exitCode: 1 };
}
