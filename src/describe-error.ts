// Turning any error into what a user reads: a stable code, one or two lines (what failed and why, then the fix)
// and an exit code — 2 for bad input, 1 for a failed operation (docs/architecture.md, Exit codes). The CLI prints
// it, the web API answers with it (server/http-errors.ts), so a script sees the same code either way. Errors of
// the layers below that carry no hint get one here.
import { dirname } from 'node:path';
import { RoostError } from './errors.js';
import { LibvirtError, VirErrorCode } from './libvirt/errors.js';

export interface UserFacingError {
  code: string;
  message: string;
  hint?: string;
  /** Shown after the fix (several lines). */
  detail?: string;
  exitCode: 1 | 2;
}

/**
 * The fix for the libvirt client's own failures, by their code. The client is a library of its own and names
 * no roost command; these do.
 */
const LIBVIRT_CLIENT_HINTS: Readonly<Record<string, string>> = {
  DAEMON_UNAVAILABLE: 'check the host with: roost doctor',
  SOCKET_CONNECT_FAILED: 'check the host with: roost doctor',
  LIBVIRT_CONNECTION_CLOSED:
    'run the command again (a new daemon starts on demand); if it keeps failing: roost doctor',
  LIBVIRT_CALL_TIMEOUT:
    'check the remote host (is its libvirt daemon alive and not overloaded?), then run the command again',
};

/**
 * A connection over ssh that failed or closed because the ssh tunnel did (its SshTunnelError is the cause): the
 * remote host is what to check, not this host's daemon, which is what the code's usual hint speaks of. Matched by
 * code, so this leaf does not load the ssh dialer (a changed host key has its own code and its own fix).
 */
function sshHint(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SSH_TUNNEL_FAILED') {
      return 'check that the host is up and answers ssh as you (ssh USER@HOST), then run the command again; roost doctor -H NAME checks it';
    }
  }
  return undefined;
}

/** Codes of the layers below that mean the input was bad (and nothing was changed): exit 2. */
const BAD_INPUT_CODES: ReadonlySet<string> = new Set(['URI_INVALID']);

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
  const code = typedCode(err);
  const message = (err as Error)?.message ?? String(err);
  const hint =
    code === undefined
      ? undefined
      : LIBVIRT_CLIENT_HINTS[code] && (sshHint(err) ?? LIBVIRT_CLIENT_HINTS[code]);
  if (code !== undefined && hint !== undefined) return { code, message, hint, exitCode: 1 };
  if (code !== undefined && BAD_INPUT_CODES.has(code)) return { code, message, exitCode: 2 };
  const full = noSpace(err);
  if (full) return full;
  if (err instanceof LibvirtError) return libvirtError(err);
  // Any other typed error (the protocol's, the ssh tunnel's, domain-xml's…) keeps its own code: a script can
  // tell a garbled reply (PROTOCOL_DECODE) from a refused XML (DOMAIN_XML_INVALID) without reading messages.
  return { code: code ?? 'INTERNAL', message, exitCode: 1 };
}

/**
 * The code of a typed error of a layer below roost's own errors: an Error whose `code` is upper-case words joined
 * by underscores (ProtocolError's PROTOCOL_DECODE, DomainXmlError's DOMAIN_XML_INVALID). Node's own errors carry
 * codes too (ENOENT, ERR_STREAM_PREMATURE_CLOSE, ABORT_ERR): those say where roost failed, not what, so they
 * stay INTERNAL. Its system errors have a numeric `errno` or a `syscall`; the rest say ERR in their code.
 */
function typedCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(code)) return undefined;
  const { errno, syscall } = err as { errno?: unknown; syscall?: unknown };
  if (typeof errno === 'number' || typeof syscall === 'string' || /(?:^|_)ERR(?:_|$)/.test(code))
    return undefined;
  return code;
}

function libvirtError(err: LibvirtError): UserFacingError {
  if (err.virErrorCode === VirErrorCode.NO_DOMAIN) {
    // A VM removed by another client while this command worked on it: the reads that list or look up VMs
    // handle it (vm/lookup.ts); this is the net under any other step.
    return {
      code: 'VM_NOT_FOUND',
      message: `the VM no longer exists: it was removed while roost worked on it (libvirt: ${err.message})`,
      hint: 'list them with: roost ls',
      exitCode: 1,
    };
  }
  return { code: `LIBVIRT_${err.virErrorCode}`, message: `libvirt: ${err.message}`, exitCode: 1 };
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
