// The one way the page shows a failure: what failed, then the fix and the detail when the API sent them (as the
// CLI prints them after its message). Every component that can fail keeps the error itself, not its text.
import { ApiError } from '../api.js';

/** A failure as a component keeps it: the error (an ApiError keeps its hint and detail), words of the page's own, or none. */
export type Failure = Error | string | null;

/** Turns whatever a rejected promise gave into a Failure. */
export const asFailure = (e: unknown): Failure => (e instanceof Error ? e : String(e));

export function ErrorText({ error, prefix }: { error: Failure; prefix?: string }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="error" role="alert" data-error-code={api?.code}>
      <p>
        {prefix ? `${prefix}: ` : ''}
        {message}
      </p>
      {api?.hint && <p class="hint">Fix: {api.hint}</p>}
      {api?.detail && <pre class="detail">{api.detail}</pre>}
    </div>
  );
}
