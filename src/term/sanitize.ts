// Text a guest or a domain definition supplies (interface names from the guest agent, the serial log, names and
// paths from domain XML) is untrusted: printed raw, an escape sequence in it can redraw the user's terminal, set
// its title, write the clipboard (OSC 52) or hide what is on a line (a carriage return, a bidi override). Every
// place that prints such text to a terminal goes through this module. JSON output does not: JSON escapes
// control characters itself, and scripts want the exact value.
//
// The invariant all of them keep: the result holds no C0 control character (except '\n' and '\t' where
// multi-line text is allowed), no DEL, no C1 control character and no bidirectional formatting character.

import { StringDecoder } from 'node:string_decoder';
import { escapeUnsafeChars, showChar, UNSAFE_CHARS } from '../unsafe-chars.js';

/** The unsafe characters of src/unsafe-chars.ts but for the line breaks and tabs that multi-line text keeps. */
const UNSAFE_IN_TEXT = new RegExp(`(?![\\n\\t])${UNSAFE_CHARS.source}`, 'g');

// A whole CSI sequence (colours, cursor moves: ESC [ params intermediates final) or a two-character escape;
// what is dropped from multi-line text, where a serial log is full of colour codes.
// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCE = /\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;

/**
 * One value (a name, an interface, a path) for one line of terminal output: every control character, newline
 * and tab included, is shown escaped (`eth0\x1b[2J`), so the value stays on its line and reads as what it is.
 */
export function safeForTerminal(value: string): string {
  return escapeUnsafeChars(value);
}

/**
 * Multi-line text (a serial log) for a terminal: line breaks and tabs stay, CRLF becomes LF, whole escape
 * sequences (colours) are dropped, and any other control character is shown escaped.
 */
export function safeTextForTerminal(text: string): string {
  return text.replace(/\r+\n/g, '\n').replace(ESCAPE_SEQUENCE, '').replace(UNSAFE_IN_TEXT, showChar);
}

// An escape sequence cut at the end of a chunk: ESC, or ESC [ with parameters and no final byte yet.
// eslint-disable-next-line no-control-regex
const CUT_SEQUENCE = /(?:\x1b|\x1b\[[0-9;:?<=>]*[ -/]*|\r+)$/;
/** Longer than any sequence worth keeping together: past this, a dangling one is shown escaped. */
const MAX_HELD = 64;

/**
 * safeTextForTerminal for a stream that arrives in chunks (`roost logs -f`): an escape sequence or a CRLF split
 * between two chunks is held back until the next one, so it is treated as a whole. `end()` flushes what is held.
 */
export function createTerminalTextFilter(): { push(chunk: string): string; end(): string } {
  let held = '';
  return {
    push(chunk: string): string {
      const text = held + chunk;
      const cut = CUT_SEQUENCE.exec(text);
      const keep = cut !== null && cut[0].length <= MAX_HELD ? cut[0].length : 0;
      held = text.slice(text.length - keep);
      return safeTextForTerminal(text.slice(0, text.length - keep));
    },
    end(): string {
      const rest = held;
      held = '';
      return safeTextForTerminal(rest);
    },
  };
}

/**
 * A writer that passes bytes through createTerminalTextFilter on their way to `out` (`roost logs` on a terminal):
 * UTF-8 split between chunks is decoded whole. Call `end()` after the last chunk.
 */
export function createSanitizingWriter(out: { write(text: string): unknown }): {
  write(chunk: Buffer | string): boolean;
  end(): void;
} {
  const decoder = new StringDecoder('utf8');
  const filter = createTerminalTextFilter();
  return {
    write(chunk) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const safe = filter.push(text);
      if (safe) out.write(safe);
      return true;
    },
    end() {
      const safe = filter.push(decoder.end()) + filter.end();
      if (safe) out.write(safe);
    },
  };
}
