// Checking what the user typed before anything is created (docs/security.md: bad input changes nothing).
import { existsSync, statSync } from 'node:fs';
import type { NicSpec } from '../domain-xml/spec.js';
import { UsageError } from '../errors.js';
import { kindOf } from '../file-kind.js';
import { checkForwardCount } from '../net/port-spec.js';
import { escapeUnsafeChars, hasUnsafeChars } from '../unsafe-chars.js';
import type { CreateRequest } from './create.js';

/** libvirt accepts more, but these names are safe in file names, URLs, ssh host aliases and shells alike. */
export const VM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkVmName(name: string): string {
  if (!VM_NAME_PATTERN.test(name)) {
    throw new UsageError(
      'INVALID_NAME',
      `invalid VM name ${quoted(name)}: use 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
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
    throw new UsageError(
      'INVALID_SIZE',
      `invalid ${what} ${quoted(text)}: expected a size like 512M, 2G or 2GiB`,
    );
  }
  const unit = m[2] ? m[2].toUpperCase() : defaultUnit;
  const bytes = Math.round(Number(m[1]) * UNIT[unit]!);
  if (!Number.isSafeInteger(bytes)) {
    throw new UsageError('INVALID_SIZE', `invalid ${what} ${quoted(text)}: it is far too large`);
  }
  if (bytes <= 0) {
    throw new UsageError('INVALID_SIZE', `invalid ${what} ${quoted(text)}: it must be more than zero`);
  }
  return bytes;
}

export function parseMemoryMiB(text: string): number {
  const mib = Math.floor(parseSize(text, 'memory size', 'M') / 1024 ** 2);
  if (mib < 64)
    throw new UsageError('INVALID_SIZE', `memory ${quoted(text)} is too small: give at least 64M`);
  return checkMemoryMiB(mib, text);
}

export function parseDiskBytes(text: string): number {
  const bytes = parseSize(text, 'disk size', 'G');
  if (bytes < 1024 ** 2)
    throw new UsageError('INVALID_SIZE', `disk ${quoted(text)} is too small: give at least 1M`);
  return checkDiskBytes(bytes, text);
}

/** An edit's disk size: the size to grow to (40G), or an amount to grow by (+10G, as `qemu-img resize` takes it). */
export type DiskGrowth = { to: number } | { by: number };

export function parseDiskGrowth(text: string): DiskGrowth {
  const t = text.trim();
  return t.startsWith('+') ? { by: parseDiskBytes(t.slice(1)) } : { to: parseDiskBytes(t) };
}

export function parseCpus(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 512) {
    throw new UsageError(
      'INVALID_CPUS',
      `invalid CPU count ${quoted(text)}: expected a whole number from 1 to 512`,
    );
  }
  return n;
}

export function parseTimeout(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 86_400) {
    throw new UsageError(
      'INVALID_TIMEOUT',
      `invalid timeout ${quoted(text)}: expected whole seconds from 1 to 86400`,
    );
  }
  return n;
}

// Hostile input at the entry points (CLI and API): what a user (or a page, or a script) hands roost is checked
// here before it reaches a file name, a domain XML, a cloud-init seed or a terminal.

export { hasUnsafeChars };

/**
 * Text the user gave, quoted for a message: unsafe characters escaped (\n, \u202e) as on any terminal line
 * (src/unsafe-chars.ts), cut to `max` characters, so that an error about hostile input is still one readable line.
 */
export function quoted(text: string, max = 80): string {
  return `'${escapeUnsafeChars(text.length > max ? `${text.slice(0, max)}…` : text)}'`;
}

/** The longest VM name roost looks up: libvirt's names are free text, but not this long. */
export const MAX_VM_REF_LENGTH = 255;

/**
 * A name that refers to an existing VM (info, start, rm, …). Looser than checkVmName, since a VM made by
 * virt-manager may be called "my vm"; but never empty, never a path and never a control character: such a name
 * cannot be a VM's, and would otherwise travel on into messages and file names.
 */
export function checkVmRef(name: string): string {
  if (name.length === 0 || name.length > MAX_VM_REF_LENGTH || name.includes('/') || hasUnsafeChars(name)) {
    throw new UsageError(
      'INVALID_NAME',
      `invalid VM name ${quoted(name)}: a VM name is 1–${MAX_VM_REF_LENGTH} characters, without '/' or control characters`,
      { hint: 'list the VMs with: roost ls' },
    );
  }
  return name;
}

/** The largest memory roost gives a VM: more than any host it runs on has; a bigger number is a typo. */
// QEMU's and libvirt's own limits are far above any host; this only keeps a typo from reaching them.
export const MAX_MEMORY_MIB = 16 * 1024 ** 2;
/** The largest disk roost creates (qcow2's own limit is 64 TiB with its default cluster size). */
export const MAX_DISK_BYTES = 64 * 1024 ** 4;

export function checkMemoryMiB(mib: number, text: string): number {
  if (mib > MAX_MEMORY_MIB) {
    throw new UsageError('INVALID_SIZE', `memory ${quoted(text)} is too large: give at most 16T`);
  }
  return mib;
}

export function checkDiskBytes(bytes: number, text: string): number {
  if (bytes > MAX_DISK_BYTES) {
    throw new UsageError('INVALID_SIZE', `disk ${quoted(text)} is too large: give at most 64T`);
  }
  return bytes;
}

export const MAX_PATH_LENGTH = 4096;

/**
 * A file the user names (--kernel, --initrd, --iso, --image, --ssh-key, --cloud-init): a path without control
 * characters that, when it exists, is a regular file — not a directory, a device (/dev/zero never ends) or a
 * FIFO (reading one blocks until a writer comes). A path that does not exist is left to the caller, which says
 * so (or, for --image, takes it as a catalogue name).
 */
export function checkInputFile(path: string, what: string, maxBytes?: number): string {
  if (path.length === 0 || path.length > MAX_PATH_LENGTH || hasUnsafeChars(path)) {
    throw new UsageError(
      'INVALID_PATH',
      `invalid ${what} path ${quoted(path)}: a path is 1–${MAX_PATH_LENGTH} characters without control characters`,
    );
  }
  let st;
  try {
    st = statSync(path);
  } catch {
    return path;
  }
  if (!st.isFile()) {
    throw new UsageError('NOT_A_FILE', `${what} ${quoted(path)} is not a regular file (${kindOf(st)})`, {
      hint: `give the path of a ${what} file`,
    });
  }
  if (maxBytes !== undefined && st.size > maxBytes) {
    throw new UsageError(
      'FILE_TOO_LARGE',
      `${what} ${quoted(path)} is ${st.size} bytes: at most ${maxBytes} are accepted`,
    );
  }
  return path;
}

/** cloud-init's own limits are smaller still (a seed's user-data is read into memory at boot). */
export const MAX_CLOUD_CONFIG_BYTES = 1024 ** 2;

/** The login name cloud-init creates: it also becomes a line of the user's ssh config. */
export const LOGIN_NAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

export function checkLoginName(user: string): string {
  if (!LOGIN_NAME_PATTERN.test(user)) {
    throw new UsageError('INVALID_USER', `invalid login name ${quoted(user)}`, {
      hint: 'lowercase letters, digits, _ and -, starting with a letter or _ (at most 32)',
    });
  }
  return user;
}

export const MAX_CMDLINE_LENGTH = 4096;

export function checkKernelCmdline(cmdline: string): string {
  if (cmdline.length > MAX_CMDLINE_LENGTH || hasUnsafeChars(cmdline)) {
    throw new UsageError(
      'INVALID_CMDLINE',
      `invalid --cmdline ${quoted(cmdline)}: one line of at most ${MAX_CMDLINE_LENGTH} characters, without control characters`,
    );
  }
  return cmdline;
}

/** For the files nothing else opens before the VM's disk is made: a missing one must stop `create` first. */
function mustExist(path: string, what: string): void {
  if (!existsSync(path)) {
    throw new UsageError('FILE_UNREADABLE', `${what} ${quoted(path)} does not exist`);
  }
}

/** What checkCreateInput reads of a create request (the CLI's options, the API's body). */
export type CreateInputFields = Pick<
  CreateRequest,
  'name' | 'image' | 'iso' | 'kernel' | 'initrd' | 'cmdline' | 'sshUser' | 'sshKey' | 'cloudInit' | 'ports'
>;

/**
 * The text fields of a create request that become paths, XML, a seed or ssh config: checked before anything
 * else, so a hostile one is refused with nothing changed and nothing opened.
 */
export function checkCreateInput(req: CreateInputFields): void {
  checkVmName(req.name);
  if (req.image !== undefined) checkInputFile(req.image, 'image');
  if (req.iso !== undefined) checkInputFile(req.iso, 'ISO image');
  if (req.kernel !== undefined) checkInputFile(req.kernel, 'kernel');
  if (req.initrd !== undefined) checkInputFile(req.initrd, 'initrd');
  if (req.sshKey !== undefined) {
    // A private key's public half (KEY.pub) is what gets authorised: either may be named.
    checkInputFile(req.sshKey, 'ssh key');
    if (!existsSync(req.sshKey)) mustExist(checkInputFile(`${req.sshKey}.pub`, 'ssh key'), 'ssh key');
  }
  if (req.cloudInit !== undefined) {
    mustExist(checkInputFile(req.cloudInit, 'cloud-init', MAX_CLOUD_CONFIG_BYTES), 'cloud-init file');
  }
  if (req.cmdline !== undefined) checkKernelCmdline(req.cmdline);
  if (req.sshUser !== undefined) checkLoginName(req.sshUser);
  if (req.ports !== undefined) checkForwardCount(req.ports);
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
 * for anyone on the link to see), and loading crypto would add to every create's start-up.
 */
export function randomMac(): string {
  const byte = () => Math.floor(Math.random() * 256);
  return `52:54:00:${[byte(), byte(), byte()].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

/** A bare word like `debian-12` is a catalogue name; anything with a slash or an image suffix is a path. */
export function looksLikeCatalogName(ref: string): boolean {
  return !ref.includes('/') && !/\.(qcow2|img|raw)$/i.test(ref) && !existsSync(ref);
}
