// Errors on the wire: every failure is `{error: {code, message, hint?, detail?}}` (src/shared/errors.ts) with a
// status that says whose fault it was. The codes are the CLI's (describeError): a script sees the same either way.
import { describeError } from '../cli/errors.js';
import { NotFoundError, RoostError, UsageError } from '../errors.js';
import { errorBody, type ErrorBody } from '../shared/errors.js';

/** The body of every failure (src/shared/errors.ts), as the CLI prints it with --json. */
export type ApiError = ErrorBody;

/** Codes that mean "not in this state": the request was fine, the VM was not ready for it. */
const CONFLICTS = new Set(['VM_RUNNING', 'VM_NOT_RUNNING', 'NAME_TAKEN', 'IMAGE_EXISTS', 'CONSOLE_BUSY']);

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
  const status =
    err instanceof NotFoundError || e.code === 'VM_NOT_FOUND'
      ? 404
      : CONFLICTS.has(e.code)
        ? 409
        : err instanceof UsageError
          ? 400
          : 500;
  return { status, body: errorBody(e) };
}

/** zod's error, recognised without importing zod (schemas.ts loads it on the first request that needs it). */
function isZodError(err: unknown): err is { issues: { path: PropertyKey[]; message: string }[] } {
  return (
    err instanceof Error && err.name === 'ZodError' && Array.isArray((err as { issues?: unknown }).issues)
  );
}
