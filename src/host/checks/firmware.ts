// UEFI firmware (OVMF): cloud images boot with q35 + UEFI. libvirt lists the firmware it found in the domain
// capabilities (`<os><loader><value>`); without a connection we look where distributions put it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainCaps } from './domcaps.js';
import type { CheckResult } from './types.js';

export const OVMF_DIRS = [
  '/usr/share/OVMF',
  '/usr/share/edk2/ovmf',
  '/usr/share/edk2/x64',
  '/usr/share/qemu',
];

/** OVMF code images in `dirs` (OVMF_CODE*.fd), in name order. */
export function findOvmfFiles(dirs: string[] = OVMF_DIRS): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) if (/^OVMF_CODE.*\.fd$/.test(n)) found.push(join(dir, n));
  }
  return found;
}

/** Decides from the domain capabilities (null when unreadable) and the files found on disk. */
export function firmwareCheck(
  domcapsXml: string | null,
  filesOnDisk: string[],
  fix: string,
  exists: (p: string) => boolean = existsSync,
): CheckResult {
  const base = { id: 'ovmf', title: 'UEFI firmware (OVMF)' };
  const loaders = domcapsXml === null ? [] : parseDomainCaps(domcapsXml).loaders.filter(exists);
  if (loaders.length) {
    return { ...base, status: 'ok', detail: `libvirt offers ${loaders.join(', ')}` };
  }
  if (filesOnDisk.length) {
    const source = domcapsXml === null ? '' : ' (libvirt lists no loader for this emulator)';
    return { ...base, status: 'ok', detail: `found ${filesOnDisk[0]}${source}` };
  }
  return {
    ...base,
    status: 'fail',
    detail: 'no OVMF firmware found: cloud images (q35 + UEFI) cannot boot; direct kernel boot still works',
    fix,
  };
}
