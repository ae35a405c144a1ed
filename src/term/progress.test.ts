import { describe, expect, it } from 'vitest';
import type { PullEvent } from '../images/types.js';
import { createPullProgress, formatBytes } from './progress.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = {
    isTTY,
    columns: 120,
    write: (s: string) => (chunks.push(s), true),
    on: () => stream,
    removeListener: () => stream,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

const events: PullEvent[] = [
  { type: 'start', image: 'debian-12', url: 'https://x/d.qcow2', total: 2048, resumeFrom: 0 },
  { type: 'progress', image: 'debian-12', received: 1024, total: 2048, rate: 1024, eta: 1 },
  { type: 'retry', image: 'debian-12', attempt: 1, reason: 'connection dropped', resumeFrom: 1024 },
  { type: 'verify', image: 'debian-12', algorithm: 'sha512' },
  { type: 'done', image: 'debian-12', path: '/c/debian-12.qcow2', size: 2048, downloaded: true },
];

describe('pull progress', () => {
  it('writes one JSON object per line in json mode', () => {
    const { stream, text } = fakeStream(false);
    const p = createPullProgress('json', stream);
    events.forEach(p);
    expect(
      text()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(events);
  });

  it('writes plain lines when not on a terminal, and nothing when quiet', () => {
    const { stream, text } = fakeStream(false);
    events.forEach(createPullProgress('auto', stream));
    expect(text()).toContain('downloading debian-12, 2.0 KiB');
    expect(text()).toContain('connection dropped; retrying (attempt 1) from 1.0 KiB');
    const quiet = fakeStream(false);
    events.forEach(createPullProgress('none', quiet.stream));
    expect(quiet.text()).toBe('');
  });

  it('formats sizes', () => {
    expect([0, 1023, 1536, 10 * 2 ** 20, 3.5 * 2 ** 30].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.5 KiB',
      '10 MiB',
      '3.5 GiB',
    ]);
  });
});
