import { describe, expect, it } from 'vitest';
import { findChecksum, parseChecksumFile } from './checksum.js';

const h256 = 'ab'.repeat(32);
const h512 = 'cd'.repeat(64);

describe('checksum files', () => {
  it('reads GNU lines in text and binary mode (Debian, Ubuntu, AlmaLinux)', () => {
    const text = `${h512}  debian-12-genericcloud-amd64.qcow2\n${'ef'.repeat(64)}  debian-12-genericcloud-amd64.raw\n`;
    expect(findChecksum(text, 'debian-12-genericcloud-amd64.qcow2')).toEqual({
      algorithm: 'sha512',
      hex: h512,
    });
    expect(
      findChecksum(`${h256} *noble-server-cloudimg-amd64.img\r\n`, 'noble-server-cloudimg-amd64.img'),
    ).toEqual({
      algorithm: 'sha256',
      hex: h256,
    });
  });

  it('reads BSD lines inside a PGP clearsigned file (Fedora) and ignores the armour', () => {
    const text = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA256',
      '',
      '# Fedora-Cloud-44-1.7-x86_64-CHECKSUM',
      `SHA256 (Fedora-Cloud-Base-AmazonEC2-44-1.7.x86_64.raw.xz) = ${'11'.repeat(32)}`,
      `SHA256 (Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2) = ${h256.toUpperCase()}`,
      '-----BEGIN PGP SIGNATURE-----',
      '',
      'iQIzBAEBCAAdFiEE',
      `${'22'.repeat(32)}  not-a-real-line`,
      '-----END PGP SIGNATURE-----',
    ].join('\n');
    expect(findChecksum(text, 'Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2')).toEqual({
      algorithm: 'sha256',
      hex: h256,
    });
    expect(parseChecksumFile(text)).toHaveLength(2);
  });

  it('reads a bare digest (Alpine .sha512)', () => {
    expect(findChecksum(`${h512}\n`, 'nocloud_alpine.qcow2')).toEqual({ algorithm: 'sha512', hex: h512 });
  });

  it('reads CentOS/Rocky single-file BSD checksums', () => {
    const text = `# CentOS-Stream-GenericCloud-x86_64-10-latest.x86_64.qcow2: 123 bytes\nSHA256 (CentOS-Stream-GenericCloud-x86_64-10-latest.x86_64.qcow2) = ${h256}\n`;
    expect(findChecksum(text, 'CentOS-Stream-GenericCloud-x86_64-10-latest.x86_64.qcow2')?.hex).toBe(h256);
  });

  it('skips other algorithms and unknown names; narrows by algorithm', () => {
    const text = `MD5 (a.qcow2) = ${'00'.repeat(16)}\n${'99'.repeat(20)}  a.qcow2\n${h256}  ./a.qcow2\n${h512}  a.qcow2\n`;
    expect(findChecksum(text, 'a.qcow2')).toEqual({ algorithm: 'sha256', hex: h256 });
    expect(findChecksum(text, 'a.qcow2', 'sha512')).toEqual({ algorithm: 'sha512', hex: h512 });
    expect(findChecksum(text, 'b.qcow2')).toBeUndefined();
    expect(findChecksum(`${h256}  x\n${h512}\n`, 'nope')).toBeUndefined();
  });
});
