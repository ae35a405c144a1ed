import { describe, expect, it } from 'vitest';
import { parseImageConfig } from './config.js';
import { ImageConfigError } from './errors.js';

const P = '/home/u/.config/roost/images.yaml';

function errorOf(text: string): string {
  try {
    parseImageConfig(text, P);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageConfigError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('images.yaml', () => {
  it('reads entries and mirrors, with defaults and checksum forms', () => {
    const cfg = parseImageConfig(
      `images:
  - name: my-debian
    url: https://images.example.org/d/debian.qcow2
    checksum: SHA512SUMS
    user: debian
  - name: pinned
    os: Pinned thing
    url: http://10.0.0.1/p.raw.xz
    checksum: sha256:${'AB'.repeat(32)}
    format: raw
    firmware: bios
    user: admin
mirrors:
  - from: https://cloud.debian.org/images/cloud/
    to: http://mirror.lan/debian/
`,
      P,
    );
    expect(cfg.images[0]).toMatchObject({
      name: 'my-debian',
      os: 'my-debian',
      format: 'qcow2',
      firmware: 'uefi',
      checksum: { algorithm: 'sha512', url: 'https://images.example.org/d/SHA512SUMS' },
      origin: 'config',
    });
    expect(cfg.images[1]).toMatchObject({
      checksum: { algorithm: 'sha256', value: 'ab'.repeat(32) },
      format: 'raw',
    });
    expect(cfg.mirrors).toEqual([
      { from: 'https://cloud.debian.org/images/cloud/', to: 'http://mirror.lan/debian/' },
    ]);
  });

  it('accepts an empty file', () => {
    expect(parseImageConfig('', P)).toEqual({ path: P, images: [], mirrors: [] });
  });

  it('names the line of a bad value', () => {
    const msg = errorOf(`images:
  - name: a
    url: https://x/a.qcow2
    checksum: sha256:abc
    user: u
  - name: b
    url: ftp://x/b.qcow2
    checksum: sha256:${'0'.repeat(64)}
    user: u
`);
    expect(msg).toMatch(new RegExp(`^${P}:4:15: images\\.0\\.checksum: must be sha256`));
    expect(errorOf(`images:\n  - name: b\n    url: ftp://x/b.qcow2\n    checksum: x\n    user: u\n`)).toMatch(
      /:3:10: images\.0\.url: must be an http/,
    );
  });

  it('names the line of an unknown key and of the item missing a key', () => {
    expect(
      errorOf(
        `images:\n  - name: a\n    url: https://x/a\n    checksum: https://x/S\n    user: u\n    usr: typo\n`,
      ),
    ).toMatch(/:2:5: images\.0: Unrecognized key: "usr"/);
    expect(errorOf(`\n\nimages:\n  - name: a\n    url: https://x/a\n    checksum: https://x/S\n`)).toMatch(
      /:4:5: images\.0\.user: /,
    );
  });

  it('names the line of a bad login name (checked on the converted entry)', () => {
    expect(
      errorOf(`images:\n  - name: a\n    url: https://x/a\n    checksum: https://x/S\n    user: Bad User\n`),
    ).toMatch(/:5:11: images\.0\.user: a login name/);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(errorOf(`images:\n  - name: a\n   url: [unclosed\n`)).toMatch(new RegExp(`^${P}:\\d+:\\d+: `));
    expect(errorOf(`images:\n  - name: "a\n`)).toMatch(/images\.yaml:[23]:\d+: /);
  });

  it('rejects a top level that is not a mapping', () => {
    expect(errorOf(`- a\n- b\n`)).toMatch(/:1:1: the file: /);
  });
});
