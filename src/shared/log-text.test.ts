import { describe, expect, it } from 'vitest';
import { cleanLog } from './log-text.js';

describe('cleanLog', () => {
  it('keeps the text and the line breaks', () => {
    expect(cleanLog('Booting\r\nROOST-TINY-READY ip=none\r\n\tok\n')).toBe(
      'Booting\nROOST-TINY-READY ip=none\n\tok\n',
    );
  });

  it("drops a guest's colours, cursor moves, window titles, clipboard writes and stray controls", () => {
    const hostile =
      '\x1b[1;31mred\x1b[0m \x1b[2J\x1b[H' +
      '\x1b]0;fake title\x07\x1b]52;c;aGVsbG8=\x1b\\' +
      'bell\x07 nul\x00 bs\x08 del\x7f esc\x1b';
    expect(cleanLog(hostile)).toBe('red bell nul bs del esc');
  });

  it('keeps markup as the text it is (the page shows it as a text node)', () => {
    expect(cleanLog('<img src=x onerror=alert(1)>')).toBe('<img src=x onerror=alert(1)>');
  });
});
