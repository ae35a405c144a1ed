// A guest's log made fit to show in the web console: its terminal escape sequences and other control characters
// removed (as `roost logs` does for a terminal), so whatever a guest wrote shows as plain text and nothing
// else. No imports: the browser uses it.

/** CSI and OSC sequences (an OSC ends at BEL or ST, or runs to the end), and the other ESC-letter pairs. */
// eslint-disable-next-line no-control-regex -- removing control sequences is the point
const ESCAPES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

export function cleanLog(text: string): string {
  return text.replace(ESCAPES, '').replace(/\r\n?/g, '\n').replace(CONTROLS, '');
}
