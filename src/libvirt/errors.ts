// Errors of the libvirt client. Every class carries a string `code` (roost style); a LibvirtError also
// keeps the daemon's numeric virErrorNumber and error domain so callers can branch on them.

import type { Domain, Network, RemoteError } from './types.js';

/** virErrorNumber values roost branches on (libvirt's include/libvirt/virterror.h). */
export const VirErrorCode = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  XML_DETAIL: 35,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  AUTH_FAILED: 45,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  NO_DOMAIN_SNAPSHOT: 72,
  ARGUMENT_UNSUPPORTED: 74,
  OPERATION_UNSUPPORTED: 84,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  STORAGE_VOL_EXIST: 90,
  XML_INVALID_SCHEMA: 92,
  AGENT_COMMAND_TIMEOUT: 112,
  AGENT_COMMAND_FAILED: 113,
} as const;

const NOT_FOUND_CODES: ReadonlySet<number> = new Set([
  VirErrorCode.NO_DOMAIN,
  VirErrorCode.NO_NETWORK,
  VirErrorCode.NO_STORAGE_POOL,
  VirErrorCode.NO_STORAGE_VOL,
  VirErrorCode.NO_DOMAIN_SNAPSHOT,
]);

/** An error reported by the daemon (a REPLY/ERROR or a server STREAM/ERROR). */
export class LibvirtError extends Error {
  override readonly name = 'LibvirtError';
  readonly code = 'LIBVIRT_ERROR';
  /** virErrorNumber, e.g. 42 (VIR_ERR_NO_DOMAIN). */
  readonly virErrorCode: number;
  /** virErrorDomain (the subsystem that failed), e.g. 10 QEMU, 20 DOMAIN. */
  readonly virErrorDomain: number;
  /** 0 none, 1 warning, 2 error. */
  readonly level: number;
  readonly dom: Domain | null;
  readonly net: Network | null;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;

  constructor(err: RemoteError, options?: ErrorOptions) {
    super(err.message ?? `libvirt error ${err.code}`, options);
    this.virErrorCode = err.code;
    this.virErrorDomain = err.domain;
    this.level = err.level;
    this.dom = err.dom;
    this.net = err.net;
    this.str1 = err.str1;
    this.str2 = err.str2;
    this.str3 = err.str3;
    this.int1 = err.int1;
    this.int2 = err.int2;
  }

  /** The object named in the call does not exist (domain, network, pool, volume or snapshot). */
  isNotFound(): boolean {
    return NOT_FOUND_CODES.has(this.virErrorCode);
  }
}

/** The connection to the daemon is gone; every call pending on it fails with this, at once. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  readonly code = 'LIBVIRT_CONNECTION_CLOSED';

  constructor(message = 'connection to the libvirt daemon closed', options?: ErrorOptions) {
    super(message, options);
  }
}

export type ProtocolErrorCode =
  | 'PROTOCOL_BAD_LENGTH' // a packet length outside 28 … 4 + VIR_NET_MESSAGE_MAX
  | 'PROTOCOL_BAD_HEADER' // a header with an unknown version, type or status
  | 'PROTOCOL_DECODE' // a payload that does not decode as the procedure's type (cause: XdrError)
  | 'PROTOCOL_TOO_LARGE' // an outgoing packet larger than the daemon accepts
  | 'PROTOCOL_UNEXPECTED_REPLY' // a reply whose program or procedure is not the pending call's
  | 'PROTOCOL_UNSUPPORTED'; // the daemon lacks a feature this call needs

/** The bytes on the wire break the protocol, or the daemon cannot do what the protocol step needs. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A call got no reply within the connection's per-call timeout (set for remote daemons, which can hang). The
 * connection stays open: the call may still run on the daemon, and a late reply is dropped.
 */
export class CallTimeoutError extends Error {
  override readonly name = 'CallTimeoutError';
  readonly code = 'LIBVIRT_CALL_TIMEOUT';

  constructor(
    message: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A write or read on a libvirt stream that has already finished or been aborted. */
export class StreamClosedError extends Error {
  override readonly name = 'StreamClosedError';
  readonly code = 'LIBVIRT_STREAM_CLOSED';

  constructor(message = 'libvirt stream already finished', options?: ErrorOptions) {
    super(message, options);
  }
}

/** An event consumer fell so far behind that its queue overflowed; events were lost. */
export class EventOverflowError extends Error {
  override readonly name = 'EventOverflowError';
  readonly code = 'LIBVIRT_EVENT_OVERFLOW';
}

/** True when `err` (or one of its causes) is a LibvirtError saying the object does not exist. */
export function isNotFound(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof LibvirtError) return e.isNotFound();
  }
  return false;
}

// ---- dialing a local daemon socket ----------------------------------------------------------------------

/** The daemon could not be reached and none could be started. `reason` says which step failed. */
export class DaemonUnavailableError extends Error {
  readonly code = 'DAEMON_UNAVAILABLE';
  constructor(
    message: string,
    readonly reason: 'autostart-disabled' | 'not-installed' | 'spawn-failed' | 'timeout' | 'lock-failed',
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DaemonUnavailableError';
  }
}

/** connect() failed for a reason that starting a daemon cannot fix (permissions, not a socket, ...). */
export class SocketConnectError extends Error {
  readonly code = 'SOCKET_CONNECT_FAILED';
  constructor(
    readonly socketPath: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot connect to the libvirt socket ${socketPath}: ${describeErrno(errno, options?.cause)}`,
      options,
    );
    this.name = 'SocketConnectError';
  }
}

function describeErrno(errno: string | undefined, cause: unknown): string {
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied — the socket belongs to another user; run roost as that user';
    case 'ENOTDIR':
      return 'a component of the path is not a directory; check ?socket= and $XDG_RUNTIME_DIR';
    case 'ENAMETOOLONG':
      return 'the path is too long for a UNIX socket (108 bytes); use a shorter ?socket= path';
    default:
      return errno ?? (cause instanceof Error ? cause.message : String(cause));
  }
}
