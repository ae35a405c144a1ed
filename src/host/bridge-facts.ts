// The host facts `roost host bridge-setup` plans from: everything readable without root (proc, sysfs, /etc).
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { processRuns } from '../process-runs.js';
import { inspectBridgeConf, inspectBridgeHelper, parseBridgeConf } from './checks/bridge.js';
import {
  checkRequest,
  dhcpPidFile,
  userAclFile,
  type AclFileFacts,
  type BridgeSetupRequest,
  type HostFacts,
  type UserFacts,
} from './bridge-model.js';

const NETWORKS_DIR = '/etc/libvirt/qemu/networks';

/**
 * Why `user`'s primary group is not theirs alone; undefined when it is. Shared: a system gid (< 1000, e.g.
 * `users`), listed members other than the user, or another account's primary group too.
 */
export function groupSharing(user: UserFacts, passwd: string, group: string): string | undefined {
  let name = String(user.gid);
  for (const line of group.split('\n')) {
    const [gname, , gid, members] = line.split(':');
    if (gid === undefined || Number(gid) !== user.gid) continue;
    name = gname ?? name;
    const others = (members ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m && m !== user.name);
    if (others.length) return `group ${name} also has ${others.join(', ')}`;
  }
  if (user.gid < 1000) return `group ${name} is a system group (gid ${user.gid})`;
  for (const line of passwd.split('\n')) {
    const [uname, , , gid] = line.split(':');
    if (uname && uname !== user.name && gid !== undefined && Number(gid) === user.gid)
      return `group ${name} is ${uname}'s primary group too`;
  }
  return undefined;
}

function aclFileFacts(path: string): AclFileFacts | undefined {
  try {
    const st = lstatSync(path);
    return { uid: st.uid, gid: st.gid, mode: st.mode };
  } catch {
    return undefined;
  }
}

function hasSetfacl(): boolean {
  return ['/usr/bin/setfacl', '/bin/setfacl', '/usr/local/bin/setfacl'].some((p) => existsSync(p));
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function modeOf(path: string): number | null {
  try {
    return statSync(path).mode;
  } catch {
    return null;
  }
}

function pidAlive(pidFile: string): boolean {
  const pid = Number(readText(pidFile)?.trim());
  return Number.isInteger(pid) && pid > 0 && processRuns(pid);
}

/** Looks a user up in /etc/passwd (no NSS: roost reads the file, as `id` would for local users). */
export function lookupUser(name: string, passwd = readText('/etc/passwd') ?? ''): UserFacts | undefined {
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined)
      return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

export function gatherFacts(request: BridgeSetupRequest): HostFacts {
  const req = checkRequest(request);
  const bridgeConf = inspectBridgeConf();
  const includes: Record<string, string | null> = {};
  for (const inc of parseBridgeConf(bridgeConf?.text ?? '').include) includes[inc] = readText(inc);
  return {
    ipForward: readText('/proc/sys/net/ipv4/ip_forward')?.trim() ?? null,
    helper: inspectBridgeHelper(),
    bridgeConf,
    includes,
    bridgeExists: existsSync(`/sys/class/net/${req.bridge}/bridge`),
    defaultNetworkDefined: existsSync(`${NETWORKS_DIR}/default.xml`),
    defaultNetworkAutostart: existsSync(`${NETWORKS_DIR}/autostart/default.xml`),
    dhcpRunning: pidAlive(dhcpPidFile(req.bridge)),
    tunMode: modeOf('/dev/net/tun'),
    ...(req.user === undefined ? {} : userFacts(req.user)),
  };
}

function userFacts(name: string): Pick<HostFacts, 'user' | 'userAcl' | 'setfacl'> {
  const passwd = readText('/etc/passwd') ?? '';
  const found = lookupUser(name, passwd);
  if (!found) return {};
  const shared = groupSharing(found, passwd, readText('/etc/group') ?? '');
  const user = shared === undefined ? found : { ...found, groupShared: shared };
  const acl = aclFileFacts(userAclFile(name));
  return { user, ...(acl ? { userAcl: acl } : {}), setfacl: hasSetfacl() };
}
