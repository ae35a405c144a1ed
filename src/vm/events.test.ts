import { describe, expect, it } from 'vitest';
import { detailName, formatEvent, lifecycleName } from './events.js';

describe('lifecycle events in words', () => {
  it('names libvirt event types and details', () => {
    expect(lifecycleName(2)).toBe('started');
    expect(detailName(2, 0)).toBe('booted');
    expect(lifecycleName(5)).toBe('stopped');
    expect(detailName(5, 1)).toBe('destroyed');
    expect(detailName(0, 1)).toBe('updated');
    // Newer libvirt may add more: they are shown by number, not dropped.
    expect(lifecycleName(42)).toBe('event-42');
    expect(detailName(5, 99)).toBe('99');
  });

  it('formats one line per event', () => {
    const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    expect(
      formatEvent({ type: 'vm', event: 'started', detail: 'booted', name: 'web', uuid: 'u', time }),
    ).toBe('03:04:05.678  started    web  (booted)');
    expect(
      formatEvent({
        type: 'image',
        ref: 'debian-12',
        phase: 'progress',
        receivedBytes: 50,
        totalBytes: 200,
        time,
      }),
    ).toBe('03:04:05.678  image      debian-12  (progress 25%)');
    expect(formatEvent({ type: 'ports', name: 'web', ports: [], time })).toBe(
      '03:04:05.678  ports      web  (none)',
    );
  });
});
