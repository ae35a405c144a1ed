// How every failure leaves roost as JSON: `--json` commands on stderr, the REST API as the body of a 4xx/5xx,
// a console WebSocket as its one text frame. Built here only, so the three cannot drift. No imports.

export interface ErrorBody {
  error: {
    /** Stable, e.g. VM_NOT_FOUND. */
    code: string;
    /** What failed and why. */
    message: string;
    /** The fix, when there is one. */
    hint?: string;
    /** More to read, several lines (the end of the serial console when a --wait fails). */
    detail?: string;
  };
}

/** The JSON of an error; fields that are absent or empty are left out. */
export function errorBody(e: { code: string; message: string; hint?: string; detail?: string }): ErrorBody {
  const body: ErrorBody = { error: { code: e.code, message: e.message } };
  if (e.hint) body.error.hint = e.hint;
  if (e.detail) body.error.detail = e.detail;
  return body;
}
