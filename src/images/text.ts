// Text from files and users shown in messages: control characters (terminal escapes) never reach a terminal.

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function hasControlChars(s: string): boolean {
  return s.search(CONTROL) !== -1;
}

/** `s` with control characters shown as '?', cut to `max` characters. */
export function printable(s: string, max = 200): string {
  const clean = s.replace(CONTROL, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
