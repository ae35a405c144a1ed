import { describe, expect, it } from 'vitest';
import { BUILTIN_IMAGES, compressionOf, findEntry, ImageEntrySchema, mergeEntries } from './catalog.js';
import type { ImageEntry } from './types.js';

const dirOf = (u: string) => u.slice(0, u.lastIndexOf('/') + 1);

describe('built-in catalogue', () => {
  it.each(BUILTIN_IMAGES.map((e) => [e.name, e] as const))('%s is a valid entry', (_name, e) => {
    expect(ImageEntrySchema.safeParse(e).error?.issues).toBeUndefined();
    if (e.url) {
      expect(e.url).toMatch(/^https:\/\//);
      expect(e.checksum && 'url' in e.checksum).toBe(true);
      if (e.checksum && 'url' in e.checksum) {
        expect(e.checksum.url).toMatch(/^https:\/\//);
        // The checksum file is published next to the image.
        expect(dirOf(e.checksum.url)).toBe(dirOf(e.url));
      }
    } else {
      expect(e.downloadPage).toMatch(/^https:\/\//);
      expect(e.notes).toContain(`roost image import FILE --as ${e.name}`);
    }
  });

  it('has unique names and aliases, and covers the distributions users ask for', () => {
    const names = BUILTIN_IMAGES.flatMap((e) => [e.name, ...(e.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    for (const n of [
      'debian-12',
      'debian-13',
      'ubuntu-24.04',
      'fedora',
      'centos-stream-10',
      'almalinux-9',
      'rocky-9',
      'alpine',
      'rhel-10',
    ]) {
      expect(findEntry(BUILTIN_IMAGES, n), n).toBeDefined();
    }
  });

  it('finds by alias, lets later entries override earlier ones, and reads compression from the URL', () => {
    const mine: ImageEntry = { ...findEntry(BUILTIN_IMAGES, 'debian-12')!, os: 'pinned', origin: 'config' };
    const merged = mergeEntries(BUILTIN_IMAGES, [mine]);
    expect(findEntry(merged, 'debian-12')?.os).toBe('pinned');
    expect(merged.map((e) => e.name)).toEqual(BUILTIN_IMAGES.map((e) => e.name));
    expect(findEntry(merged, 'ubuntu')?.name).toBe('ubuntu-24.04');
    expect(compressionOf({ url: 'https://x/y.raw.xz' })).toBe('xz');
    expect(compressionOf({ url: 'https://x/y.img.zst' })).toBe('zst');
    expect(compressionOf({ url: 'https://x/y.qcow2' })).toBe('none');
  });
});
