// The only place that prints for humans (with term/) or machines (--json). Commands build plain data and hand
// it here; `--json` output is stable and documented in docs/cli-json.md.
import { errorBody } from '../shared/errors.js';
import { safeTextForTerminal } from '../term/sanitize.js';
import type { UserFacingError } from '../describe-error.js';
import { writeStderr, writeStdout } from './stdio.js';

export interface GlobalOptions {
  connect?: string;
  /** -H NAME: a host of hosts.yaml, resolved into `connect` before the command runs (action.ts). */
  host?: string;
  json?: boolean;
  quiet?: boolean;
}

export interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  /** A line for humans on stdout (suppressed by --quiet and --json). */
  info(line: string): void;
  /** The command's result: JSON in --json mode, else the human rendering. */
  result(data: unknown, human: () => string): void;
  /** A warning on stderr (kept in --json mode: stdout stays parseable). */
  warn(line: string): void;
  error(e: UserFacingError): void;
}

export function createOutput(
  opts: GlobalOptions,
  out = { write: writeStdout },
  err = { write: writeStderr },
): Output {
  const json = !!opts.json;
  const quiet = !!opts.quiet;
  return {
    json,
    quiet,
    info: (line) => {
      if (!json && !quiet) out.write(line + '\n');
    },
    result: (data, human) => {
      if (json) out.write(JSON.stringify(data, null, 2) + '\n');
      else {
        const text = human();
        if (text) out.write(text.endsWith('\n') ? text : text + '\n');
      }
    },
    // Messages may quote what a guest or a domain definition said: no escape sequence of theirs reaches a terminal.
    warn: (line) => err.write(`roost: warning: ${safeTextForTerminal(line)}\n`),
    error: (e) => {
      if (json) err.write(JSON.stringify(errorBody(e)) + '\n');
      else {
        const detail = e.detail ? safeTextForTerminal(e.detail).replace(/^/gm, '  ') + '\n' : '';
        const hint = e.hint ? `  fix: ${safeTextForTerminal(e.hint)}\n` : '';
        err.write(`roost: ${safeTextForTerminal(e.message)}\n${hint}${detail}`);
      }
    },
  };
}
