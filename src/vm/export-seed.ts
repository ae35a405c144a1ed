// What `roost export` tells of a VM's cloud-init: the user-data of its seed (a small ISO 9660 image that roost
// wrote, read here through its Joliet directory), less what roost itself puts there for every VM — the hostname,
// its login user, no password logins, the mounts of shared folders — so what is left is what the user asked
// for, and apply adds roost's part back exactly as create did.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { withoutMountsConfig } from '../cloud-init/mounts.js';
import type { ParsedDomain } from '../domain-xml/parse.js';
import type { RoostPaths } from '../paths.js';

const SECTOR = 2048;

/** The VM's cloud-init seed: a cdrom in roost's seeds directory (an ISO elsewhere is the user's, not read). */
export function seedPathOf(paths: Pick<RoostPaths, 'data'>, parsed: ParsedDomain): string | undefined {
  return parsed.disks.find((d) => d.device === 'cdrom' && d.path?.startsWith(join(paths.data, 'seeds')))
    ?.path;
}

/** readIsoFile that says "none" for a seed that cannot be read at all (gone, unreadable). */
export function tryReadIsoFile(path: string, name: string): string | undefined | Error {
  try {
    return readIsoFile(path, name);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
/** A seed is a few kilobytes; a larger "seed" is not one roost wrote. */
const MAX_SEED_BYTES = 8 * 1024 ** 2;

/** The file `name` of the ISO at `path` (Joliet names), or undefined when the ISO has none or is not one. */
export function readIsoFile(path: string, name: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).size > MAX_SEED_BYTES) return undefined;
    const sector = (n: number, count = 1) => {
      const buf = Buffer.alloc(SECTOR * count);
      readSync(fd, buf, 0, buf.length, n * SECTOR);
      return buf;
    };
    for (let n = 16; n < 32; n++) {
      const vd = sector(n);
      if (vd.toString('latin1', 1, 6) !== 'CD001' || vd[0] === 255) break;
      if (vd[0] !== 2) continue;
      const rootExtent = vd.readUInt32LE(156 + 2);
      const rootSize = vd.readUInt32LE(156 + 10);
      return findInDirectory(sector(rootExtent, Math.ceil(rootSize / SECTOR)), name, (e, s) =>
        sector(e, Math.ceil(s / SECTOR)).subarray(0, s),
      );
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function findInDirectory(
  dir: Buffer,
  name: string,
  read: (extent: number, size: number) => Buffer,
): string | undefined {
  for (let off = 0; off < dir.length;) {
    const len = dir[off]!;
    if (len === 0) {
      off = (Math.floor(off / SECTOR) + 1) * SECTOR;
      continue;
    }
    const idLen = dir[off + 32]!;
    const id = ucs2be(dir.subarray(off + 33, off + 33 + idLen)).replace(/;1$/, '');
    if (id === name) return read(dir.readUInt32LE(off + 2), dir.readUInt32LE(off + 10)).toString('utf8');
    off += len;
  }
  return undefined;
}

function ucs2be(b: Buffer): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b.readUInt16BE(i));
  return s;
}

/** The cloudInit section of a VM file that gives this user-data back (roost's own part left out). */
export interface ExportedCloudInit {
  packages?: string[];
  runcmd?: unknown[];
  userData?: string;
}

export function userPartOf(
  userData: string,
  vmName: string,
  loginUser: string | undefined,
): ExportedCloudInit {
  const config = parseYaml(userData.replace(/^#cloud-config\n/, ''), { maxAliasCount: 100 }) as Record<
    string,
    unknown
  > | null;
  if (config === null || typeof config !== 'object') return {};
  // The shared folders' fstab lines and mount commands are roost's too: the file's `mounts:` says them.
  const rest: Record<string, unknown> = withoutMountsConfig(config);
  if (rest.hostname === vmName) delete rest.hostname;
  if (rest.manage_etc_hosts === true) delete rest.manage_etc_hosts;
  if (rest.ssh_pwauth === false) delete rest.ssh_pwauth;
  if (Array.isArray(rest.users)) {
    const i = rest.users.findIndex((u) => isRoostUser(u, loginUser));
    const users = rest.users.filter((_, j) => j !== i);
    if (users.length > 0) rest.users = users;
    else delete rest.users;
  }
  const keys = Object.keys(rest);
  if (keys.length === 0) return {};
  if (keys.every((k) => k === 'packages' || k === 'runcmd') && keys.every((k) => Array.isArray(rest[k]))) {
    return { packages: rest.packages as string[] | undefined, runcmd: rest.runcmd as unknown[] | undefined };
  }
  return { userData: `#cloud-config\n${stringify(rest, { lineWidth: 0 })}` };
}

function isRoostUser(u: unknown, loginUser: string | undefined): boolean {
  if (u === null || typeof u !== 'object') return false;
  const user = u as Record<string, unknown>;
  return user.gecos === 'roost' && (loginUser === undefined || user.name === loginUser);
}
