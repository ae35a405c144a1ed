// Checking what the user typed before anything is created (DESIGN §8: bad input changes nothing).
import type { NicSpec } from '../domain-xml/spec.js';
import { UsageError } from '../errors.js';

/** libvirt accepts more, but these names are safe in file names, URLs, ssh host aliases and shells alike. */
export const VM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkVmName(name: string): string {
  if (!VM_NAME_PATTERN.test(name)) {
    throw new UsageError(
      'INVALID_NAME',
      `invalid VM name '${name}': use 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { hint: 'for example: roost create web1' },
    );
  }
  return name;
}

const UNIT: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * Parses a size such as `512M`, `2G`, `2GiB`, `1.5G` or `20GB` into bytes (binary units, as virt-install and
 * qemu-img use). A plain number is taken in `defaultUnit` (MiB for memory, GiB for disks, like virt-install).
 */
export function parseSize(text: string, what: string, defaultUnit: 'M' | 'G'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) {
    throw new UsageError('INVALID_SIZE', `invalid ${what} '${text}': expected a size like 512M, 2G or 2GiB`);
  }
  const unit = m[2] ? m[2].toUpperCase() : defaultUnit;
  const bytes = Math.round(Number(m[1]) * UNIT[unit]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError('INVALID_SIZE', `invalid ${what} '${text}': it must be more than zero`);
  }
  return bytes;
}

export function parseMemoryMiB(text: string): number {
  const mib = Math.floor(parseSize(text, 'memory size', 'M') / 1024 ** 2);
  if (mib < 64) throw new UsageError('INVALID_SIZE', `memory '${text}' is too small: give at least 64M`);
  return mib;
}

export function parseDiskBytes(text: string): number {
  const bytes = parseSize(text, 'disk size', 'G');
  if (bytes < 1024 ** 2)
    throw new UsageError('INVALID_SIZE', `disk '${text}' is too small: give at least 1M`);
  return bytes;
}

export function parseCpus(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 512) {
    throw new UsageError(
      'INVALID_CPUS',
      `invalid CPU count '${text}': expected a whole number from 1 to 512`,
    );
  }
  return n;
}

export function parseTimeout(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 86_400) {
    throw new UsageError(
      'INVALID_TIMEOUT',
      `invalid timeout '${text}': expected whole seconds from 1 to 86400`,
    );
  }
  return n;
}

/**
 * --network, once or more: each 'user' (passt; at most one, as passt has one set of forwards) or 'bridge=NAME'
 * (each bridge once). --port needs the user NIC.
 */
export function parseNetworks(network: string | string[] | undefined, hasPorts: boolean): NicSpec[] {
  const given = network === undefined ? ['user'] : Array.isArray(network) ? network : [network];
  if (given.length === 0) given.push('user');
  const nics = given.map((n): NicSpec => {
    // The forwards go in once createVm knows them all (it may add the ssh one).
    if (n === 'user') return { kind: 'user', ports: [] };
    if (/^bridge=[A-Za-z0-9_.-]{1,15}$/.test(n)) return { kind: 'bridge', bridge: n.slice('bridge='.length) };
    throw new UsageError(
      'INVALID_NETWORK',
      `invalid --network '${n}': use 'user' or 'bridge=NAME' (e.g. bridge=virbr0)`,
    );
  });
  const seen = new Set<string>();
  for (const n of given) {
    if (seen.has(n))
      throw new UsageError('INVALID_NETWORK', `--network ${n} is given twice: one NIC each`, {
        hint: n === 'user' ? 'one user NIC carries every --port' : undefined,
      });
    seen.add(n);
  }
  if (hasPorts && !seen.has('user')) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '--port needs user networking (passt); a bridged VM is reached at its own IP',
      { hint: 'drop --port, or add --network user (a NIC for forwards beside the bridge)' },
    );
  }
  return nics;
}

/**
 * A locally administered MAC in QEMU's range (52:54:00), so the seed's network-config can match the NIC.
 * Math.random, not node:crypto: a MAC needs to be unlikely to repeat, not to be unguessable (it is on the wire
 * for anyone on the link to see), and loading crypto would cost every create ~4 ms.
 */
export function randomMac(): string {
  const byte = () => Math.floor(Math.random() * 256);
  return `52:54:00:${[byte(), byte(), byte()].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}
