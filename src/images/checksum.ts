// Checksum files as distributions publish them, and the digest of a file.
//
// Formats seen in the wild, all accepted:
//   GNU coreutils   "<hex>  name" (text mode) or "<hex> *name" (binary mode) — Debian SHA512SUMS, Ubuntu SHA256SUMS,
//                   AlmaLinux CHECKSUM
//   BSD / --tag     "SHA256 (name) = <hex>" — Fedora CHECKSUM (inside a PGP clearsigned block), Rocky and CentOS
//                   *.CHECKSUM / *.SHA256SUM
//   bare digest     a file holding only "<hex>" — Alpine's *.sha512 next to each image
// The PGP armour around clearsigned files is skipped; the signature itself is not checked (docs/images.md).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { HashAlgorithm } from './types.js';

export interface ChecksumLine {
  algorithm: HashAlgorithm;
  hex: string;
  /** File name as written (a leading "./" or "*" removed); absent for a bare digest. */
  name?: string;
}

const HEX_LENGTH: Record<number, HashAlgorithm> = { 64: 'sha256', 128: 'sha512' };
const BSD = /^(SHA256|SHA512|SHA2-256|SHA2-512)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)$/;
const GNU = /^([0-9a-fA-F]+)\s+\*?(.+)$/;

function algorithmOf(hex: string): HashAlgorithm | undefined {
  return HEX_LENGTH[hex.length];
}

function cleanName(name: string): string {
  return name.trim().replace(/^\*/, '').replace(/^\.\//, '');
}

/** Every sha256/sha512 line of a checksum file; lines of other algorithms (MD5, SHA1) and noise are skipped. */
export function parseChecksumFile(text: string): ChecksumLine[] {
  const lines: ChecksumLine[] = [];
  let inSignature = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('-----BEGIN PGP SIGNATURE')) inSignature = true;
    if (line.startsWith('-----END PGP SIGNATURE')) {
      inSignature = false;
      continue;
    }
    if (inSignature || !line || line.startsWith('#') || line.startsWith('-----') || /^Hash:/.test(line))
      continue;
    const bsd = BSD.exec(line);
    if (bsd) {
      const algorithm: HashAlgorithm = bsd[1]!.endsWith('512') ? 'sha512' : 'sha256';
      const hex = bsd[3]!.toLowerCase();
      if (algorithmOf(hex) === algorithm) lines.push({ algorithm, hex, name: cleanName(bsd[2]!) });
      continue;
    }
    const gnu = GNU.exec(line);
    if (gnu) {
      const hex = gnu[1]!.toLowerCase();
      const algorithm = algorithmOf(hex);
      if (algorithm) lines.push({ algorithm, hex, name: cleanName(gnu[2]!) });
      continue;
    }
    if (/^[0-9a-fA-F]+$/.test(line)) {
      const algorithm = algorithmOf(line);
      if (algorithm) lines.push({ algorithm, hex: line.toLowerCase() });
    }
  }
  return lines;
}

/**
 * The digest for `fileName` in a checksum file: the line naming it (compared by base name), else — when the file
 * holds exactly one digest and no names — that digest. `algorithm` narrows the choice when a file lists several.
 */
export function findChecksum(
  text: string,
  fileName: string,
  algorithm?: HashAlgorithm,
): { algorithm: HashAlgorithm; hex: string } | undefined {
  const all = parseChecksumFile(text).filter((l) => !algorithm || l.algorithm === algorithm);
  const base = (n: string) => n.slice(n.lastIndexOf('/') + 1);
  const named = all.find((l) => l.name !== undefined && base(l.name) === fileName);
  if (named) return { algorithm: named.algorithm, hex: named.hex };
  if (all.length === 1 && all[0]!.name === undefined)
    return { algorithm: all[0]!.algorithm, hex: all[0]!.hex };
  return undefined;
}

/** Digest of a whole file, streamed. */
export async function hashFile(path: string, algorithm: HashAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
