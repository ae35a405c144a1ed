import { describe, expect, it } from 'vitest';
import { applyMirrors, parseMirrorEnv } from './mirror.js';

describe('mirrors', () => {
  it('replaces a URL prefix (FROM=TO)', () => {
    const rules = parseMirrorEnv('https://cloud.debian.org/images/cloud/=http://mirror.lan/debian-cloud/');
    expect(applyMirrors('https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS', rules)).toBe(
      'http://mirror.lan/debian-cloud/bookworm/latest/SHA512SUMS',
    );
    expect(applyMirrors('https://cloud-images.ubuntu.com/noble/current/x.img', rules)).toBe(
      'https://cloud-images.ubuntu.com/noble/current/x.img',
    );
  });

  it('lays any URL out by host under a bare mirror URL', () => {
    const rules = parseMirrorEnv('http://127.0.0.1:8080/mirror/');
    expect(applyMirrors('https://dl.rockylinux.org/pub/rocky/9/images/x86_64/R.qcow2', rules)).toBe(
      'http://127.0.0.1:8080/mirror/dl.rockylinux.org/pub/rocky/9/images/x86_64/R.qcow2',
    );
  });

  it('takes several rules, first match wins, and rejects non-URLs', () => {
    const rules = parseMirrorEnv(' https://a.example/=http://m/a/, http://m/all ');
    expect(rules).toHaveLength(2);
    expect(applyMirrors('https://a.example/x', rules)).toBe('http://m/a/x');
    expect(applyMirrors('https://b.example/y', rules)).toBe('http://m/all/b.example/y');
    expect(parseMirrorEnv(undefined)).toEqual([]);
    expect(() => parseMirrorEnv('mirror.lan')).toThrow(/ROOST_IMAGE_MIRROR/);
  });
});
