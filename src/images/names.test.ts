import { describe, expect, it } from 'vitest';
import { cachePath } from './cache.js';
import { checkImageName, isImageName, pathInside } from './names.js';

describe('image names', () => {
  it('accepts catalogue-style names', () => {
    for (const n of ['debian-12', 'ubuntu-24.04', 'a', 'rhel_10', '0day', 'x'.repeat(63)])
      expect(isImageName(n), n).toBe(true);
  });

  it('refuses anything that could leave the cache directory or hide in it', () => {
    for (const n of [
      '',
      '.',
      '..',
      '../x',
      '../../victim',
      'a/b',
      '/etc/passwd',
      '.hidden',
      '-rf',
      'a\0b',
      'A',
      'x'.repeat(64),
      'a\nb',
      'é',
    ]) {
      expect(isImageName(n), JSON.stringify(n)).toBe(false);
      expect(() => checkImageName(n)).toThrow(
        expect.objectContaining({ code: 'IMAGE_NAME_INVALID', exitCode: 2 }),
      );
    }
  });

  it('shows a refused name without its control characters', () => {
    expect(() => checkImageName('\u001b[2Jx')).toThrow("'?[2Jx' is not a valid image name");
  });

  it('pathInside keeps a file directly inside the directory', () => {
    expect(pathInside('/c/images', 'a.qcow2')).toBe('/c/images/a.qcow2');
    for (const f of ['../a.qcow2', 'x/../../a', '/etc/passwd', 'sub/a', '.', ''])
      expect(() => pathInside('/c/images', f), f).toThrow();
  });

  it('cachePath checks the name before making a path of it', () => {
    expect(cachePath('/c/images', 'debian-12', 'part.json')).toBe('/c/images/debian-12.part.json');
    expect(() => cachePath('/c/images', '../../victim', 'qcow2')).toThrow(/not a valid image name/);
  });
});
