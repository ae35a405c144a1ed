// Where a console stands, shown the same way for the serial and the graphical one: connecting, connected,
// closed (with the reason the server or the guest gave) or failed (with the error), and Reconnect once it ended.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorText, type Failure } from './ErrorText.js';

export type ConsoleState =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'closed'; reason?: string }
  | { state: 'error'; error: Failure };

/** A console's state, and the count of attempts its effect depends on (Reconnect starts another). */
export function useConsoleState() {
  const [status, setStatus] = useState<ConsoleState>({ state: 'connecting' });
  const [attempt, setAttempt] = useState(0);
  return { status, setStatus, attempt, reconnect: () => setAttempt((a) => a + 1) };
}

const LABEL = { connecting: 'Connecting…', connected: 'Connected', closed: 'Disconnected', error: 'Failed' };

export function ConsoleStatus(props: {
  kind: 'serial' | 'vnc';
  status: ConsoleState;
  onReconnect: () => void;
  /** Said after "Connected", e.g. how to disconnect. */
  connectedHint?: string;
  /** Buttons shown while connected. */
  children?: ComponentChildren;
}) {
  const { status } = props;
  const ended = status.state === 'closed' || status.state === 'error';
  return (
    <>
      <div class="row">
        <span role="status" data-console={props.kind} data-console-status={status.state}>
          {LABEL[status.state]}
          {status.state === 'connected' && props.connectedHint ? ` — ${props.connectedHint}` : ''}
        </span>
        {status.state === 'connected' && props.children}
        {ended && (
          <button type="button" onClick={props.onReconnect}>
            Reconnect
          </button>
        )}
      </div>
      {status.state === 'closed' && status.reason && (
        <p class="muted" data-testid="console-reason">
          {status.reason}
        </p>
      )}
      {status.state === 'error' && <ErrorText error={status.error} />}
    </>
  );
}
