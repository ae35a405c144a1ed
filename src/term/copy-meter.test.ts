import { describe, expect, it } from 'vitest';
import { createCopyMeter, meterLine } from './copy-meter.js';

describe('the copy meter', () => {
  it('draws one line: a bar with bytes and rate once the size and some progress are known', () => {
    expect(meterLine('a.bin → web:/tmp/a.bin', 512 * 1024, 1024 * 1024, 2000)).toBe(
      'a.bin → web:/tmp/a.bin [████████████░░░░░░░░░░░░]  50% 512 KiB/1.0 MiB 256 KiB/s 2 s',
    );
  });

  it('without a size (a tree coming out), what has arrived and the time; going in, the size and the time', () => {
    expect(meterLine('web:/srv → /tmp', 3 * 1024 * 1024, undefined, 3000)).toBe(
      'web:/srv → /tmp 3.0 MiB 1.0 MiB/s 3 s',
    );
    expect(meterLine('proj → web:/tmp/', 0, 52 * 1024 * 1024, 12_000)).toBe('proj → web:/tmp/ 52 MiB 12 s');
  });

  it('off a terminal, prints one line per finished file and nothing for the bytes on the way', () => {
    const lines: string[] = [];
    const meter = createCopyMeter(undefined, (l) => lines.push(l));
    meter({ type: 'file', label: 'a.bin → web:/tmp/a.bin', size: 3 });
    for (let i = 1; i <= 100; i++) meter({ type: 'bytes', done: i });
    meter({ type: 'file-done', label: 'a.bin → web:/tmp/a.bin' });
    meter({ type: 'file', label: 'b\x1b[2Jbin → web:/tmp/b', size: 1 });
    meter({ type: 'file-done', label: 'b' });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('a.bin → web:/tmp/a.bin');
    // A guest's file name reaches the terminal without its escape sequences.
    expect(lines[1]).not.toContain('\x1b');
  });
});
