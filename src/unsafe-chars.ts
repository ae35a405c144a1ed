// The characters no name, path or login may hold, and how one is shown when it must be: text a guest, a domain
// definition or a user supplies can hold an escape sequence that redraws a terminal, sets its title, writes the
// clipboard (OSC 52), or a carriage return or bidi override that hides what is on a line. Input checks refuse
// these characters (vm/input.ts, the API's schemas); the terminal output escapes them (term/sanitize.ts).

// C0 (U+0000–U+001F), DEL (U+007F), C1 (U+0080–U+009F), the bidi marks, embeddings, overrides and isolates, and
// the invisible zero-width and formatting characters (U+200B–U+200F, U+2060–U+206F, the BOM) that make text read
// differently from what it is. The one list of them.
export const UNSAFE_CHARS =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/g;

/** True when `text` holds a character escapeUnsafeChars would escape: no name, path or login may. */
export function hasUnsafeChars(text: string): boolean {
  UNSAFE_CHARS.lastIndex = 0;
  return UNSAFE_CHARS.test(text);
}

/**
 * `value` with every unsafe character, newline and tab included, shown escaped (`eth0\x1b[2J`): it stays on one
 * line and reads as what it is.
 */
export function escapeUnsafeChars(value: string): string {
  return value.replace(UNSAFE_CHARS, showChar);
}

/** How an unsafe character is shown: visible, unambiguous, and never itself a control character. */
export function showChar(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}
