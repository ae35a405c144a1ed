// Errors on the wire: every failure is `{error: {code, message, hint?, detail?}}` (src/shared/errors.ts) with a
// status that says whose fault it was. The codes are the CLI's (describeError): a script sees the same either way.
import { describeError } from '../describe-error.js';
import { NotFoundError, RoostError } from '../errors.js';
import { errorBody, type ErrorBody } from '../shared/errors.js';

/** The body of every failure (src/shared/errors.ts), as the CLI prints it with --json. */
export type ApiError = ErrorBody;

/** Codes that mean "not in this state": the request was fine, the VM was not ready for it. */
const CONFLICTS = new Set([
  'VM_RUNNING',
  'VM_NOT_RUNNING',
  'NAME_TAKEN',
  'IMAGE_EXISTS',
  'CONSOLE_BUSY',
  // An edit found the VM's definition without the NIC or disk it works on: another client changed it meanwhile.
  'DOMAIN_XML_NOT_FOUND',
]);

/** Codes that mean "there is no such thing (yet)": a log a VM never wrote. */
const MISSING = new Set(['NO_LOG_YET', 'NO_SERIAL_LOG']);

/**
 * Failures of what the server stands in front of — the libvirt daemon and the way to it — by code, or by the
 * prefix of a family of codes: 502 when it answered something roost cannot use, 503 when it is not there (try
 * again later), 504 when it did not answer in time.
 */
const UPSTREAM_STATUS: ReadonlyArray<readonly [code: string | RegExp, status: number]> = [
  // A call roost made too large for the daemon to take: roost's own fault, so the first match keeps it a 500.
  ['PROTOCOL_TOO_LARGE', 500],
  // The daemon's bytes break the protocol or do not decode (ProtocolError, XdrError), or it lacks a feature.
  [/^PROTOCOL_/, 502],
  [/^XDR_/, 502],
  // A domain definition in the daemon that is not XML roost can read.
  ['DOMAIN_XML_INVALID', 502],
  // The daemon ended a stream (a console, a volume upload) roost still used.
  ['LIBVIRT_STREAM_CLOSED', 502],
  // The ssh tunnel to a remote daemon failed.
  ['SSH_TUNNEL_FAILED', 502],
  ['DAEMON_UNAVAILABLE', 503],
  ['SOCKET_CONNECT_FAILED', 503],
  ['LIBVIRT_CONNECTION_CLOSED', 503],
  ['DAEMON_GONE', 503],
  ['LIBVIRT_CALL_TIMEOUT', 504],
];

/** A plain HTTP-level refusal (401, 403, 421, 404 route, 501). */
export class HttpError extends RoostError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

export function toApiError(err: unknown): { status: number; body: ApiError } {
  if (err instanceof HttpError) return { status: err.status, body: errorBody(err) };
  if (isZodError(err)) {
    const message = err.issues
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    return { status: 400, body: errorBody({ code: 'INVALID_REQUEST', message }) };
  }
  const fastifyErr = err as { statusCode?: number; code?: string; message?: string };
  if (
    !(err instanceof RoostError) &&
    typeof fastifyErr.statusCode === 'number' &&
    fastifyErr.statusCode < 500
  ) {
    // fastify's own: a body that is not JSON, too large, a wrong content type.
    return {
      status: fastifyErr.statusCode,
      body: errorBody({ code: 'INVALID_REQUEST', message: fastifyErr.message ?? 'bad request' }),
    };
  }
  const e = describeError(err);
  const status = statusFor(err, e.code, e.exitCode);
  return { status, body: errorBody(e) };
}

function statusFor(err: unknown, code: string, exitCode: 1 | 2): number {
  if (err instanceof NotFoundError || code === 'VM_NOT_FOUND' || MISSING.has(code)) return 404;
  if (CONFLICTS.has(code)) return 409;
  // Bad input, nothing changed: UsageError and the lower layers' bad-input codes alike.
  if (exitCode === 2) return 400;
  // A spec the input checks let through but that cannot be written as a domain: the request, not the server.
  if (code === 'DOMAIN_XML_BAD_SPEC') return 422;
  const upstream = UPSTREAM_STATUS.find(([c]) => (typeof c === 'string' ? c === code : c.test(code)));
  return upstream?.[1] ?? 500;
}

/** zod's error, recognised without importing zod (schemas.ts loads it on the first request that needs it). */
function isZodError(err: unknown): err is { issues: { path: PropertyKey[]; message: string }[] } {
  return (
    err instanceof Error && err.name === 'ZodError' && Array.isArray((err as { issues?: unknown }).issues)
  );
}
