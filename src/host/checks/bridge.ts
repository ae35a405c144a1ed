// The host-only bridge path (`--network bridge=virbr0`, DESIGN §1): QEMU attaches a session VM to a host bridge
// through qemu-bridge-helper, which must be setuid root, and which only uses bridges that /etc/qemu/bridge.conf
// allows. Debian ships the helper without the setuid bit and no bridge.conf (DESIGN §2). Both are optional —
// user-mode networking with passt needs neither — so these checks warn, never fail.
import { readFileSync, statSync } from 'node:fs';
import type { CheckResult } from './types.js';

export const BRIDGE_HELPER_PATHS = [
  '/usr/lib/qemu/qemu-bridge-helper', // Debian, Ubuntu
  '/usr/libexec/qemu-bridge-helper', // Fedora, Arch
  '/usr/local/libexec/qemu-bridge-helper', // built from source
];
export const BRIDGE_CONF = '/etc/qemu/bridge.conf';
export const DEFAULT_BRIDGE = 'virbr0';

const S_ISUID = 0o4000;

export interface FileFacts {
  path: string;
  /** st_mode including the file type bits. */
  mode: number;
  uid: number;
}

/** The first helper that exists, with its mode and owner; undefined when none does. */
export function inspectBridgeHelper(paths: string[] = BRIDGE_HELPER_PATHS): FileFacts | undefined {
  for (const path of paths) {
    try {
      const st = statSync(path);
      if (st.isFile()) return { path, mode: st.mode, uid: st.uid };
    } catch {
      // not here
    }
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
  if (setuid && helper.uid === 0) {
    return { ...base, status: 'ok', detail: `${helper.path} is setuid root` };
  }
  const fix =
    helper.uid === 0
      ? `sudo chmod u+s ${helper.path}`
      : `sudo chown root ${helper.path} && sudo chmod u+s ${helper.path}`;
  const why = setuid ? `is setuid but owned by uid ${helper.uid}, not root` : 'is not setuid';
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
