// The host-only bridge path (`--network bridge=virbr0`): QEMU attaches a session VM to a host bridge through
// qemu-bridge-helper, which must be setuid root, and which only uses bridges that /etc/qemu/bridge.conf allows.
// Debian ships the helper without the setuid bit and no bridge.conf (docs/architecture.md, host facts). Both are
// optional — user-mode networking with passt needs neither — so these checks warn, never fail.
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CheckResult } from './types.js';

export const BRIDGE_HELPER_PATHS = [
  '/usr/lib/qemu/qemu-bridge-helper', // Debian, Ubuntu
  '/usr/libexec/qemu-bridge-helper', // Fedora, Arch
  '/usr/local/libexec/qemu-bridge-helper', // built from source
];
export const BRIDGE_CONF = '/etc/qemu/bridge.conf';
export const DEFAULT_BRIDGE = 'virbr0';

const S_ISUID = 0o4000;

export interface OwnerFacts {
  path: string;
  /** st_mode including the file type bits. */
  mode: number;
  uid: number;
  gid: number;
}

export interface FileFacts extends OwnerFacts {
  /** lstat saw a symbolic link (mode and owner are then the link's target's, when it has one). */
  symlink?: boolean;
  /** The directories the file is in, innermost first up to /, after resolving symbolic links. */
  dirs?: OwnerFacts[];
}

/** The stat calls inspectBridgeHelper makes; tests give a fake file system. */
export interface StatFs {
  lstat(path: string): {
    mode: number;
    uid: number;
    gid: number;
    isFile(): boolean;
    isSymbolicLink(): boolean;
  };
  stat(path: string): { mode: number; uid: number; gid: number; isFile(): boolean };
  realpath(path: string): string;
}

const realFs: StatFs = { lstat: lstatSync, stat: statSync, realpath: (p) => realpathSync(p) };

/** The directory chain of `dir` (already resolved), innermost first, up to and including /. */
function dirChain(dir: string, fs: StatFs): OwnerFacts[] {
  const chain: OwnerFacts[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const st = fs.lstat(d);
    chain.push({ path: d, mode: st.mode, uid: st.uid, gid: st.gid });
    if (d === dirname(d)) return chain;
  }
}

/**
 * The first helper that exists, with its mode, owners and directory chain; undefined when none does. lstat, so a
 * symbolic link is reported as one (chmod u+s would follow it to whatever it points at).
 */
export function inspectBridgeHelper(
  paths: string[] = BRIDGE_HELPER_PATHS,
  fs: StatFs = realFs,
): FileFacts | undefined {
  for (const path of paths) {
    let lst: ReturnType<StatFs['lstat']>;
    try {
      lst = fs.lstat(path);
    } catch {
      continue; // not here
    }
    if (!lst.isFile() && !lst.isSymbolicLink()) continue;
    const facts: FileFacts = { path, mode: lst.mode, uid: lst.uid, gid: lst.gid };
    if (lst.isSymbolicLink()) facts.symlink = true;
    try {
      facts.dirs = dirChain(fs.realpath(dirname(path)), fs);
    } catch {
      // an unreadable chain: reported as not checked (helperHazard)
    }
    return facts;
  }
  return undefined;
}

const ROOT_GID = 0;
/** Writable by someone other than root: others, or a group that is not root's. */
function writableByOthers(f: OwnerFacts): boolean {
  return (f.mode & 0o002) !== 0 || ((f.mode & 0o020) !== 0 && f.gid !== ROOT_GID);
}

/**
 * Why making this helper setuid root would hand root to someone (or already does); undefined when it is safe.
 * A setuid program is only as safe as whoever can replace it: it must be a regular file (a symbolic link would
 * make chmod act on its target), owned by root, writable by no one else, in directories only root can change.
 */
export function helperHazard(helper: FileFacts): string | undefined {
  if (helper.symlink)
    return `${helper.path} is a symbolic link (chmod u+s would act on whatever it points to)`;
  if ((helper.mode & 0o170000) !== 0o100000) return `${helper.path} is not a regular file`;
  if (helper.uid !== 0)
    return `${helper.path} is owned by uid ${helper.uid}, not root (that user could have changed it)`;
  if ((helper.mode & 0o022) !== 0)
    return `${helper.path} is writable by group or others (mode ${(helper.mode & 0o7777).toString(8)})`;
  if (helper.dirs === undefined) return `the directories above ${helper.path} could not be checked`;
  for (const d of helper.dirs) {
    if (d.uid !== 0)
      return `${d.path} is owned by uid ${d.uid}, not root (that user could replace the helper)`;
    if (writableByOthers(d))
      return `${d.path} is writable by users other than root (mode ${(d.mode & 0o7777).toString(8)}): they could replace the helper`;
  }
  return undefined;
}

export function bridgeHelperCheck(helper: FileFacts | undefined, installFix: string): CheckResult {
  const base = { id: 'bridge-helper', title: 'bridge helper setuid' };
  if (!helper) {
    return {
      ...base,
      status: 'warn',
      detail:
        'qemu-bridge-helper is not installed: session VMs cannot join a host bridge (passt networking is unaffected)',
      fix: installFix,
    };
  }
  const setuid = (helper.mode & S_ISUID) !== 0;
  const hazard = helperHazard(helper);
  if (hazard) {
    return {
      ...base,
      status: setuid ? 'fail' : 'warn',
      detail: setuid
        ? `${helper.path} is setuid but unsafe: ${hazard}: anyone who can change it can become root`
        : `${hazard}: roost will not propose making it setuid root (session VMs cannot join a host bridge)`,
      fix: `reinstall qemu-bridge-helper from your distribution's package (${installFix}) and check who can write ${helper.path} and its directories`,
    };
  }
  if (setuid) {
    return { ...base, status: 'ok', detail: `${helper.path} is setuid root` };
  }
  const fix = `sudo chmod u+s ${helper.path}`;
  const why = 'is not setuid';
  return {
    ...base,
    status: 'warn',
    detail: `${helper.path} ${why}: session VMs cannot join a host bridge (only needed for --network bridge)`,
    fix,
  };
}

export interface BridgeConf {
  /** Bridges named by `allow NAME` lines ('all' for `allow all`). */
  allow: string[];
  deny: string[];
  /** Files named by `include PATH` lines (qemu-bridge-helper reads them too; doctor does not follow them). */
  include: string[];
}

/** Parses bridge.conf as qemu-bridge-helper does: `allow|deny|include ARG` per line, `#` starts a comment. */
export function parseBridgeConf(text: string): BridgeConf {
  const conf: BridgeConf = { allow: [], deny: [], include: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^(allow|deny|include)\s+(\S+)$/.exec(line);
    if (!m) continue;
    conf[m[1] as keyof BridgeConf].push(m[2]!);
  }
  return conf;
}

/** What doctor knows about bridge.conf: missing (null), or its mode and — when readable — its text. */
export interface BridgeConfFacts {
  path: string;
  mode: number;
  /** null when the file exists but this user cannot read it. */
  text: string | null;
}

export function inspectBridgeConf(path = BRIDGE_CONF): BridgeConfFacts | null {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return null;
  }
  let text: string | null = null;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // exists, but not readable by us: reported below
  }
  return { path, mode, text };
}

export function bridgeConfCheck(facts: BridgeConfFacts | null, path = BRIDGE_CONF): CheckResult {
  const base = { id: 'bridge-conf', title: 'bridge.conf' };
  const dir = path.replace(/\/[^/]*$/, '') || '/';
  const appendFix = `echo 'allow ${DEFAULT_BRIDGE}' | sudo tee -a ${path} && sudo chmod 644 ${path}`;
  if (!facts) {
    return {
      ...base,
      status: 'warn',
      detail: `${path} does not exist: qemu-bridge-helper allows no bridge (only needed for --network bridge)`,
      fix: `sudo mkdir -p ${dir} && ${appendFix}`,
    };
  }
  const worldReadable = (facts.mode & 0o004) !== 0;
  if (!worldReadable || facts.text === null) {
    return {
      ...base,
      status: 'warn',
      detail: `${path} is not readable by everyone (mode ${(facts.mode & 0o777).toString(8).padStart(3, '0')}): roost cannot see which bridges it allows`,
      fix: `sudo chmod 644 ${path}`,
    };
  }
  const conf = parseBridgeConf(facts.text);
  if (!conf.allow.length) {
    const inc = conf.include.length
      ? ` (it includes ${conf.include.join(', ')}, which doctor does not read)`
      : '';
    return {
      ...base,
      status: 'warn',
      detail: `${path} has no 'allow' line${inc}: qemu-bridge-helper allows no bridge`,
      fix: appendFix,
    };
  }
  const denied = conf.deny.length ? `; denies ${conf.deny.join(', ')}` : '';
  const allowsDefault =
    (conf.allow.includes(DEFAULT_BRIDGE) || conf.allow.includes('all')) &&
    !conf.deny.includes(DEFAULT_BRIDGE) &&
    !conf.deny.includes('all');
  if (!allowsDefault) {
    return {
      ...base,
      status: 'warn',
      detail: `allows ${conf.allow.join(', ')}${denied}, not ${DEFAULT_BRIDGE}: --network bridge=${DEFAULT_BRIDGE} is refused (the bridges it allows work)`,
      fix: appendFix,
    };
  }
  return { ...base, status: 'ok', detail: `allows ${conf.allow.join(', ')}${denied}` };
}
