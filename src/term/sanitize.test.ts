import { describe, expect, it } from 'vitest';
import {
  createSanitizingWriter,
  createTerminalTextFilter,
  safeForTerminal,
  safeTextForTerminal,
} from './sanitize.js';
import { hasUnsafeChars } from '../unsafe-chars.js';

// Anything a terminal acts on: C0 but for the allowed layout characters, DEL, C1, bidi formatting.
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const ACTIVE_IN_TEXT =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const hostile = [
  'eth0\x1b[2J\x1b[H', // clear the screen
  'x\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2gK\x07', // OSC 52: write the clipboard
  'x\x1b]0;pwned\x1b\\', // set the window title
  'a\rroot ok', // overwrite the start of the line
  'b\u009b2J', // C1 CSI
  'safe\u202egnp.exe', // right-to-left override
  'nul\u0000del\u007fbell\u0007',
  'two\nlines\ttab',
];

describe('the one list of unsafe characters (src/unsafe-chars.ts)', () => {
  it('is what multi-line text escapes too, but for the line breaks and tabs it keeps', () => {
    const differ = Array.from({ length: 0x10000 }, (_, i) => String.fromCharCode(i)).filter(
      (ch) => (safeTextForTerminal(ch) !== ch) !== (hasUnsafeChars(ch) && !'\n\t'.includes(ch)),
    );
    expect(differ).toEqual([]);
  });
});

describe('safeForTerminal', () => {
  it('leaves ordinary text alone', () => {
    expect(safeForTerminal('web-1.roost ens3 /var/lib/x y.qcow2 ünïcode ✓')).toBe(
      'web-1.roost ens3 /var/lib/x y.qcow2 ünïcode ✓',
    );
  });
  it.each(hostile)('shows every control character of %j escaped', (s) => {
    const out = safeForTerminal(s);
    expect(out).not.toMatch(ACTIVE);
    expect(out).not.toContain('\n');
  });
  it('escapes visibly and unambiguously', () => {
    expect(safeForTerminal('eth0\x1b[2J')).toBe('eth0\\x1b[2J');
    expect(safeForTerminal('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(safeForTerminal('\u202e')).toBe('\\u202e');
    expect(safeForTerminal('\u009b')).toBe('\\x9b');
  });
  it('holds for every code point below U+0100', () => {
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    expect(safeForTerminal(all)).not.toMatch(ACTIVE);
  });
});

describe('safeTextForTerminal', () => {
  it('keeps lines and tabs, turns CRLF into LF, drops colour codes', () => {
    expect(safeTextForTerminal('[  \x1b[0;32mOK\x1b[0m  ] Started\r\nlogin:\tx\r\n')).toBe(
      '[  OK  ] Started\nlogin:\tx\n',
    );
  });
  it.each(hostile)('leaves nothing a terminal acts on in %j', (s) => {
    expect(safeTextForTerminal(s)).not.toMatch(ACTIVE_IN_TEXT);
  });
  it('holds for every code point below U+0100 and for every 2-character pair of them', () => {
    const chars = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));
    expect(safeTextForTerminal(chars.join(''))).not.toMatch(ACTIVE_IN_TEXT);
    for (const a of chars)
      expect(safeTextForTerminal(chars.map((b) => a + b).join(''))).not.toMatch(ACTIVE_IN_TEXT);
  });
});

describe('createTerminalTextFilter', () => {
  const log = 'boot\r\n\x1b[0;32mOK\x1b[0m\r\n\x1b]52;c;ZXZpbA==\x07done\x1b[1;31mred\x1b[0m\r\n';
  it('gives the same text however the stream is cut', () => {
    const whole = safeTextForTerminal(log);
    for (let cut = 0; cut <= log.length; cut++) {
      const f = createTerminalTextFilter();
      expect(f.push(log.slice(0, cut)) + f.push(log.slice(cut)) + f.end()).toBe(whole);
    }
  });
  it('never holds back more than a short tail', () => {
    const f = createTerminalTextFilter();
    const out = f.push('\x1b[' + '1;'.repeat(1000));
    expect(out.length).toBeGreaterThan(1000);
    expect(out).not.toMatch(ACTIVE_IN_TEXT);
  });
  it('one byte at a time, nothing active gets through', () => {
    const f = createTerminalTextFilter();
    let out = '';
    for (const ch of hostile.join('')) out += f.push(ch);
    out += f.end();
    expect(out).not.toMatch(ACTIVE_IN_TEXT);
  });
});

describe('createSanitizingWriter', () => {
  it('decodes UTF-8 split between chunks and filters what it writes', () => {
    const bytes = Buffer.from('héllo ✓ \x1b[31mred\x1b[0m\r\n\x1b]52;c;eA==\x07end\r\n');
    for (let cut = 0; cut <= bytes.length; cut++) {
      let got = '';
      const w = createSanitizingWriter({ write: (s: string) => (got += s) });
      w.write(bytes.subarray(0, cut));
      w.write(bytes.subarray(cut));
      w.end();
      expect(got).toBe(safeTextForTerminal(bytes.toString('utf8')));
    }
  });
});
