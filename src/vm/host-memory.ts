// Refusing a VM more memory than the host has, before anything changes: libvirt accepts such a definition and
// only the start fails (or the host starts swapping). Figures from /proc/meminfo, for a connection to this host's
// daemon (the session one always is); a remote host's memory is not known here, so it is not checked.
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** MemTotal of /proc/meminfo in MiB, or undefined when it cannot be read. */
export function hostMemoryMiB(meminfo = '/proc/meminfo'): number | undefined {
  try {
    const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(readFileSync(meminfo, 'utf8'));
    return m ? Math.floor(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** A libvirt URI without a host (qemu:///session, qemu+unix:///system?socket=…) reaches a daemon on this host. */
export function isLocalUri(uri: string): boolean {
  return /^[a-z0-9+]+:\/\/(localhost)?\//i.test(uri);
}

/** Throws MEMORY_EXCEEDS_HOST (exit 2) when `mib` is more than the host's memory. */
export function checkMemoryFitsHost(uri: string, mib: number, given = `${mib}M`, meminfo?: string): void {
  if (!isLocalUri(uri)) return;
  const host = hostMemoryMiB(meminfo);
  if (host === undefined || mib <= host) return;
  throw new UsageError(
    'MEMORY_EXCEEDS_HOST',
    `memory ${given} (${gib(mib)} GiB) is more than this host has (${gib(host)} GiB)`,
    { hint: `give at most ${Math.floor(host / 1024)}G (its VMs and everything else share it)` },
  );
}

function gib(mib: number): string {
  return (mib / 1024).toFixed(1);
}
