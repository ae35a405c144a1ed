// Is virtiofsd installed? libvirt starts it for a `<filesystem>` with the virtiofs driver (shared folders);
// it is packaged apart from QEMU (Debian 12 and 13, Fedora) and lives outside $PATH, so the usual places are
// searched. Shared folders are optional: a missing virtiofsd is a warning, never a failure.
import type { ProgramOutput } from './programs.js';
import type { CheckResult } from './types.js';

/** Where distributions install virtiofsd (Debian and Fedora: /usr/libexec; older QEMU builds: /usr/lib/qemu). */
export const VIRTIOFSD_DIRS = ['/usr/libexec', '/usr/lib/qemu', '/usr/lib/virtiofsd'];

/** "virtiofsd backend 1.13.0" (or "virtiofsd 1.13.0") → "1.13.0". */
export function parseVirtiofsdVersion(output: string): string | undefined {
  return /virtiofsd\b[^\n\d]*(\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1];
}

export function virtiofsCheck(found: ProgramOutput | undefined | Error, fix: string): CheckResult {
  const base = { id: 'virtiofs', title: 'virtiofs (shared folders)' };
  if (!found) {
    return {
      ...base,
      status: 'warn',
      detail: 'virtiofsd is not installed: VMs cannot share host folders over virtiofs',
      fix,
    };
  }
  if (found instanceof Error) {
    return { ...base, status: 'warn', detail: `virtiofsd does not run: ${found.message}`, fix };
  }
  const v = parseVirtiofsdVersion(found.output);
  return {
    ...base,
    status: 'ok',
    detail: `virtiofs available: virtiofsd ${v ?? '(version not reported)'} (${found.path})`,
  };
}
