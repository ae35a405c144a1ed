import { describe, expect, it } from 'vitest';
import { escapeUnsafeChars, hasUnsafeChars } from './unsafe-chars.js';

const everyCodeUnit = Array.from({ length: 0x10000 }, (_, i) => String.fromCharCode(i));

describe('the unsafe characters', () => {
  it('are exactly what escapeUnsafeChars escapes: what an input check refuses, the output shows escaped', () => {
    const disagree = everyCodeUnit.filter((ch) => hasUnsafeChars(ch) !== (escapeUnsafeChars(ch) !== ch));
    expect(disagree).toEqual([]);
  });

  it('are shown as visible text that holds no unsafe character itself', () => {
    const unsafe = everyCodeUnit.filter(hasUnsafeChars);
    expect(unsafe).toEqual(
      expect.arrayContaining(['\x1b', '\r', '\n', '\u009b', '\u202e', '\u200b', '\ufeff']),
    );
    for (const ch of unsafe) expect(hasUnsafeChars(escapeUnsafeChars(ch)), escape(ch)).toBe(false);
    expect(escapeUnsafeChars('eth0\x1b[2J\u202e')).toBe('eth0\\x1b[2J\\u202e');
  });

  it('leave ordinary text, other scripts and emoji alone', () => {
    expect(hasUnsafeChars('web-1.roost /var/lib/x y.qcow2 ünïcode ✓ 日本 🙂')).toBe(false);
  });
});
