// roost host bridge-setup: the one-time root steps that let session VMs join a host-only bridge
// (docs/architecture.md, host facts).
// Session libvirt cannot create taps itself; QEMU asks the setuid qemu-bridge-helper, which attaches a tap to a
// bridge only if /etc/qemu/bridge.conf allows it. Each step below is checked first (facts anyone can read) and
// only what is missing is printed or, with --apply, run — as root directly, else through sudo, always as an
// argument array (file contents go through stdin to tee, never through a shell).
//
// Two shapes:
//  - the shared bridge virbr0 of libvirt's `default` network (system connection: NAT to the outside, DHCP by
//    libvirt's dnsmasq): ip_forward, the network started and autostarted, `allow virbr0`, the setuid helper;
//  - `--bridge NAME --user U`: a host-only bridge for one user's VMs. roost creates the bridge with an address,
//    runs a dnsmasq for DHCP on it (lease file /var/lib/roost/NAME.leases, readable, which `roost ip` reads), and
//    allows it in a file only U can read (/etc/qemu/roost-U.conf) that bridge.conf includes.
//    qemu-bridge-helper drops to the caller's uid and gid, keeping the supplementary groups, before it reads
//    any ACL file (when built with libcap-ng, as Debian's is), and skips an included file it cannot open; so
//    only processes that can read roost-U.conf can attach to NAME. "Only U" means: root:G 0640 when G is U's
//    private group (no other member, no other user's primary group, gid ≥ 1000), else root:root 0600 with a
//    POSIX ACL entry for U's uid (setfacl); a shared group such as `users` would let every member in. That separates U's VMs from other users'
//    VMs on the link layer; it does not hide them from local processes: the host has an address on the bridge,
//    so anything on the host can reach the guests' IPs. No ip_forward, no NAT: host-only means exactly that.
//    Neither the bridge nor the dnsmasq survives a reboot; run the command again (or make them persistent with
//    your distribution's network configuration).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { RoostError, UsageError } from '../errors.js';
import {
  BRIDGE_CONF,
  DEFAULT_BRIDGE,
  helperHazard,
  inspectBridgeConf,
  inspectBridgeHelper,
  parseBridgeConf,
  type BridgeConfFacts,
  type FileFacts,
} from './checks/bridge.js';
import { processRuns } from '../process-runs.js';

export interface RootCommand {
  argv: string[];
  /** Written to the command's stdin (file contents for tee). */
  input?: string;
}

export interface SetupStep {
  id: 'ip-forward' | 'default-network' | 'bridge' | 'dhcp' | 'bridge-conf' | 'helper-setuid' | 'tun-device';
  title: string;
  done: boolean;
  /** What it is for, and what is missing. */
  detail: string;
  commands: RootCommand[];
  /** Set when roost will not do this step: why, and what to do instead (the commands are then empty). */
  refused?: string;
}

export interface BridgeSetupRequest {
  /** Default virbr0. */
  bridge?: string;
  /** Give this user (and only them) the bridge; needs a bridge other than virbr0. */
  user?: string;
  /** First three octets of the bridge's /24 (own bridge only); default derived from the bridge name. */
  subnet?: string;
}

export interface UserFacts {
  name: string;
  uid: number;
  gid: number;
  /** Why the primary group is not the user's alone (undefined: it is); see groupSharing. */
  groupShared?: string;
}

/** Owner and mode of an ACL file (undefined when missing or not stat-able). */
export interface AclFileFacts {
  uid: number;
  gid: number;
  mode: number;
}

/** What the plan is computed from; everything readable without root. */
export interface HostFacts {
  ipForward: string | null;
  helper: FileFacts | undefined;
  bridgeConf: BridgeConfFacts | null;
  /** Text of included ACL files we could read, by path (null: exists but unreadable to us). */
  includes: Record<string, string | null>;
  bridgeExists: boolean;
  defaultNetworkDefined: boolean;
  defaultNetworkAutostart: boolean;
  /** dnsmasq for the own bridge: its pid file names a live process. */
  dhcpRunning: boolean;
  /** st_mode of /dev/net/tun; null when it does not exist. */
  tunMode: number | null;
  user?: UserFacts;
  /** Owner and mode of the user's ACL file (with --user). */
  userAcl?: AclFileFacts;
  /** setfacl is installed (needed when the user's group is shared). */
  setfacl?: boolean;
}

const S_ISUID = 0o4000;
export const ROOST_STATE_DIR = '/var/lib/roost';
const NETWORKS_DIR = '/etc/libvirt/qemu/networks';
const LIBVIRT_DEFAULT_NET_XML = '/usr/share/libvirt/networks/default.xml';

const BRIDGE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function userAclFile(user: string): string {
  return `/etc/qemu/roost-${user}.conf`;
}

export function dhcpPidFile(bridge: string): string {
  return `/run/roost-${bridge}-dnsmasq.pid`;
}

export function leaseFileOf(bridge: string): string {
  return `${ROOST_STATE_DIR}/${bridge}.leases`;
}

/** A /24 in 10.77–10.126 picked from the bridge name, so two bridges rarely collide and reruns agree. */
export function defaultSubnet(bridge: string): string {
  const h = createHash('sha256').update(bridge).digest();
  return `10.${77 + (h[0]! % 50)}.${h[1]! % 250}`;
}

export function checkRequest(
  req: BridgeSetupRequest,
): Required<Pick<BridgeSetupRequest, 'bridge'>> & BridgeSetupRequest {
  const bridge = req.bridge ?? DEFAULT_BRIDGE;
  if (!BRIDGE_NAME.test(bridge)) {
    throw new UsageError(
      'INVALID_BRIDGE',
      `invalid bridge name '${bridge}': up to 15 of letters, digits, . _ -`,
    );
  }
  if (req.user !== undefined && bridge === DEFAULT_BRIDGE) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      `--user gives one user a bridge of their own: name it with --bridge (virbr0 is libvirt's shared bridge)`,
      { hint: `e.g. roost host bridge-setup --bridge br-${req.user} --user ${req.user}` },
    );
  }
  if (req.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(req.user)) {
    throw new UsageError('INVALID_USER', `invalid user name '${req.user}'`);
  }
  if (req.subnet !== undefined && !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(req.subnet)) {
    throw new UsageError(
      'INVALID_SUBNET',
      `invalid --subnet '${req.subnet}': give three octets, e.g. 10.77.3`,
    );
  }
  if (req.subnet !== undefined && req.subnet.split('.').some((o) => Number(o) > 255)) {
    throw new UsageError('INVALID_SUBNET', `invalid --subnet '${req.subnet}': octets go up to 255`);
  }
  return { ...req, bridge };
}

/** The steps, pure: each with `done` and the root commands that would do it. */
export function planBridgeSetup(request: BridgeSetupRequest, facts: HostFacts): SetupStep[] {
  const req = checkRequest(request);
  const bridge = req.bridge;
  const own = bridge !== DEFAULT_BRIDGE;
  const steps: SetupStep[] = [];

  if (!own) {
    steps.push({
      id: 'ip-forward',
      title: 'IPv4 forwarding',
      done: facts.ipForward === '1',
      detail:
        facts.ipForward === '1'
          ? 'net.ipv4.ip_forward is 1'
          : `net.ipv4.ip_forward is ${facts.ipForward ?? 'unknown'}: the default network's NAT cannot route guests out`,
      commands:
        facts.ipForward === '1'
          ? []
          : [
              { argv: ['sysctl', '-w', 'net.ipv4.ip_forward=1'] },
              { argv: ['tee', '/etc/sysctl.d/60-roost-bridge.conf'], input: 'net.ipv4.ip_forward = 1\n' },
            ],
    });
    const netCommands: RootCommand[] = [];
    if (!facts.defaultNetworkDefined) {
      netCommands.push({ argv: ['virsh', '-c', 'qemu:///system', 'net-define', LIBVIRT_DEFAULT_NET_XML] });
    }
    if (!facts.bridgeExists)
      netCommands.push({ argv: ['virsh', '-c', 'qemu:///system', 'net-start', 'default'] });
    if (!facts.defaultNetworkAutostart) {
      netCommands.push({ argv: ['virsh', '-c', 'qemu:///system', 'net-autostart', 'default'] });
    }
    steps.push({
      id: 'default-network',
      title: "libvirt's default network (virbr0)",
      done: netCommands.length === 0,
      detail:
        netCommands.length === 0
          ? 'virbr0 is up and the default network autostarts'
          : [
              facts.defaultNetworkDefined ? '' : 'the default network is not defined',
              facts.bridgeExists ? '' : 'virbr0 does not exist (network not started)',
              facts.defaultNetworkAutostart ? '' : 'the default network does not autostart',
            ]
              .filter(Boolean)
              .join('; '),
      commands: netCommands,
    });
  } else {
    const subnet = req.subnet ?? defaultSubnet(bridge);
    steps.push({
      id: 'bridge',
      title: `host-only bridge ${bridge}`,
      done: facts.bridgeExists,
      detail: facts.bridgeExists
        ? `${bridge} exists`
        : `${bridge} does not exist: created with address ${subnet}.1/24, attached to no physical NIC`,
      commands: facts.bridgeExists
        ? []
        : [
            { argv: ['ip', 'link', 'add', bridge, 'type', 'bridge'] },
            { argv: ['ip', 'addr', 'add', `${subnet}.1/24`, 'dev', bridge] },
            { argv: ['ip', 'link', 'set', bridge, 'up'] },
          ],
    });
    steps.push({
      id: 'dhcp',
      title: `DHCP on ${bridge}`,
      done: facts.dhcpRunning,
      detail: facts.dhcpRunning
        ? `dnsmasq runs on ${bridge} (leases in ${leaseFileOf(bridge)})`
        : `no dnsmasq on ${bridge}: guests would get no address (leases go to ${leaseFileOf(bridge)}, which roost ip reads)`,
      commands: facts.dhcpRunning
        ? []
        : [
            { argv: ['install', '-d', '-m', '0755', ROOST_STATE_DIR] },
            {
              argv: [
                'dnsmasq',
                '--conf-file=/dev/null',
                '--port=0',
                '--bind-interfaces',
                `--interface=${bridge}`,
                '--except-interface=lo',
                `--dhcp-range=${subnet}.10,${subnet}.254,255.255.255.0,12h`,
                `--dhcp-leasefile=${leaseFileOf(bridge)}`,
                '--dhcp-authoritative',
                `--pid-file=${dhcpPidFile(bridge)}`,
              ],
            },
          ],
    });
  }

  // bridge.conf: a plain allow line, or (per user) an include of a file only that user can read.
  const confText = facts.bridgeConf?.text ?? '';
  const conf = parseBridgeConf(confText);
  const confCommands: RootCommand[] = [];
  const problems: string[] = [];
  let aclRefused: string | undefined;
  if (facts.bridgeConf === null) {
    confCommands.push({ argv: ['install', '-d', '-m', '0755', '/etc/qemu'] });
    problems.push(`${BRIDGE_CONF} does not exist`);
  }
  if (req.user === undefined) {
    if (!conf.allow.includes(bridge) && !conf.allow.includes('all')) {
      confCommands.push({ argv: ['tee', '-a', BRIDGE_CONF], input: `allow ${bridge}\n` });
      problems.push(`no 'allow ${bridge}' line`);
    }
  } else {
    const acl = userAclFile(req.user);
    if (!conf.include.includes(acl)) {
      confCommands.push({ argv: ['tee', '-a', BRIDGE_CONF], input: `include ${acl}\n` });
      problems.push(`${BRIDGE_CONF} does not include ${acl}`);
    }
    const aclText = facts.includes[acl];
    if (!facts.user) throw new UsageError('UNKNOWN_USER', `no user named '${req.user}' on this host`);
    const user = facts.user;
    const unsafe = aclPermissionProblem(user, facts.userAcl);
    // We usually cannot read another user's ACL file: then it is written again, which is harmless.
    if (
      aclText === undefined ||
      aclText === null ||
      !parseBridgeConf(aclText).allow.includes(bridge) ||
      unsafe !== undefined
    ) {
      if (user.groupShared !== undefined && facts.setfacl === false) {
        aclRefused =
          `${user.name}'s primary group is shared (${user.groupShared}): a group-readable ACL file would let ` +
          `every member attach VMs to ${bridge}; roost needs setfacl to give ${user.name} alone read access ` +
          `(Debian: apt install acl), or give ${user.name} a private group, then run this again`;
      }
      confCommands.push(
        {
          argv: ['tee', acl],
          input: `# roost: only ${user.name} may attach VMs to ${bridge}\nallow ${bridge}\n`,
        },
        ...aclPermissionCommands(user, acl),
      );
      problems.push(
        unsafe !== undefined
          ? unsafe
          : aclText === null
            ? `${acl} cannot be checked (not readable by you)`
            : `${acl} does not allow ${bridge}`,
      );
    }
  }
  if (facts.bridgeConf === null || (facts.bridgeConf.mode & 0o004) === 0 || confCommands.length > 0) {
    if (facts.bridgeConf !== null && (facts.bridgeConf.mode & 0o004) === 0)
      problems.push('it is not world-readable');
    confCommands.push({ argv: ['chmod', '0644', BRIDGE_CONF] });
  }
  steps.push({
    id: 'bridge-conf',
    title: 'qemu-bridge-helper ACL',
    done: problems.length === 0,
    detail:
      problems.length === 0
        ? req.user === undefined
          ? `${BRIDGE_CONF} allows ${bridge}`
          : `${BRIDGE_CONF} includes ${userAclFile(req.user)}, which allows ${bridge}`
        : problems.join('; '),
    commands: problems.length === 0 || aclRefused ? [] : confCommands,
    ...(aclRefused && problems.length > 0 ? { refused: aclRefused } : {}),
  });

  steps.push(helperStep(facts.helper));

  // The helper opens /dev/net/tun after dropping to the caller's uid (keeping only CAP_NET_ADMIN), so the
  // device must be usable by everyone, as distributions make it (0666). Some containers ship it 0600.
  const tunOk = facts.tunMode !== null && (facts.tunMode & 0o006) === 0o006;
  steps.push({
    id: 'tun-device',
    title: '/dev/net/tun',
    done: tunOk,
    detail: tunOk
      ? '/dev/net/tun is usable by everyone'
      : facts.tunMode === null
        ? '/dev/net/tun does not exist: load the tun module'
        : `/dev/net/tun is mode ${(facts.tunMode & 0o777).toString(8)}: qemu-bridge-helper, running as you, cannot open it (not persistent across reboots: fix your udev rules or container config too)`,
    commands: tunOk
      ? []
      : facts.tunMode === null
        ? [{ argv: ['modprobe', 'tun'] }]
        : [{ argv: ['chmod', '0666', '/dev/net/tun'] }],
  });
  return steps;
}

/**
 * The setuid step. roost proposes `chmod u+s` only on a helper that is safe to trust with root (helperHazard);
 * an unsafe one, setuid or not, is refused with the reason: a setuid root program that someone else can replace
 * is a root shell for them.
 */
function helperStep(helper: FileFacts | undefined): SetupStep {
  const base = { id: 'helper-setuid' as const, title: 'setuid qemu-bridge-helper' };
  if (helper === undefined) {
    return {
      ...base,
      done: false,
      detail: 'qemu-bridge-helper is not installed (Debian: apt install qemu-system-common)',
      commands: [],
    };
  }
  const hazard = helperHazard(helper);
  const setuid = (helper.mode & S_ISUID) !== 0;
  if (hazard) {
    const refused = `${hazard}: roost will not make it setuid root; reinstall it from your distribution's package and make sure only root can change it and its directories`;
    return {
      ...base,
      done: false,
      detail: setuid ? `${helper.path} is setuid root and unsafe: ${hazard}` : refused,
      commands: [],
      refused,
    };
  }
  return {
    ...base,
    done: setuid,
    detail: setuid
      ? `${helper.path} is setuid root`
      : `${helper.path} is not setuid root: QEMU of a session VM cannot create its tap`,
    commands: setuid ? [] : [{ argv: ['chmod', 'u+s', helper.path] }],
  };
}

/** How the user's ACL file is made readable by that user alone: their private group, or a POSIX ACL entry. */
function aclPermissionCommands(user: UserFacts, acl: string): RootCommand[] {
  if (user.groupShared === undefined) {
    return [{ argv: ['chown', `0:${user.gid}`, acl] }, { argv: ['chmod', '0640', acl] }];
  }
  return [
    { argv: ['chown', '0:0', acl] },
    { argv: ['chmod', '0600', acl] },
    { argv: ['setfacl', '--set', `u::rw,u:${user.uid}:r,g::-,m::r,o::-`, acl] },
  ];
}

/** What is wrong with the ACL file's owner and mode for this user (undefined: fine, or not known). */
function aclPermissionProblem(user: UserFacts, f: AclFileFacts | undefined): string | undefined {
  if (f === undefined) return undefined;
  const mode = f.mode & 0o7777;
  const acl = `the ACL file (uid ${f.uid}, gid ${f.gid}, mode ${mode.toString(8).padStart(4, '0')})`;
  if (f.uid !== 0) return `${acl} is not owned by root: its owner could allow any bridge`;
  if ((mode & 0o7137) !== 0) return `${acl} is writable or readable by more than root and ${user.name}`;
  if (user.groupShared === undefined) {
    if ((mode & 0o040) !== 0 && f.gid !== user.gid)
      return `${acl} is readable by group ${f.gid}, not ${user.name}'s`;
    return undefined;
  }
  // With a POSIX ACL the group bits show its mask; the owning group must then be root's.
  if ((mode & 0o040) !== 0 && f.gid !== 0)
    return `${acl} is readable by group ${f.gid}, which ${user.name} shares with others (${user.groupShared})`;
  return undefined;
}

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

/** How a root command is run by this process: directly as root, else through sudo (argument array). */
export function rootArgv(cmd: RootCommand, uid: number): string[] {
  return uid === 0 ? cmd.argv : ['sudo', '--', ...cmd.argv];
}

/** A line a user can paste: arguments quoted for a POSIX shell (display only; nothing runs through a shell). */
export function shellLine(cmd: RootCommand, uid: number): string {
  const q = (a: string) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const line = rootArgv(cmd, uid).map(q).join(' ');
  if (cmd.input === undefined) return line;
  const body = cmd.input.replace(/\n$/, '');
  return body.includes('\n')
    ? `printf '%s\\n' ${body.split('\n').map(q).join(' ')} | ${line} >/dev/null`
    : `echo ${q(body)} | ${line} >/dev/null`;
}

export interface AppliedCommand {
  argv: string[];
  code: number | null;
  stderr: string;
}

/** Runs one command (no shell), feeding `input` to its stdin; resolves with its exit code and stderr. */
export function runRootCommand(cmd: RootCommand, uid: number): Promise<AppliedCommand> {
  const argv = rootArgv(cmd, uid);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', (e) => resolve({ argv, code: null, stderr: e.message }));
    child.on('close', (code) => resolve({ argv, code, stderr: stderr.trim() }));
    // A command that exits without reading its input (EPIPE) is judged by its exit code, not by our write.
    child.stdin.on('error', () => {});
    child.stdin.end(cmd.input ?? '');
  });
}

/** Runs the commands of every step not yet done, in order; stops at the first failure (RoostError). */
export async function applySteps(
  steps: readonly SetupStep[],
  uid = process.getuid?.() ?? 0,
  run: (cmd: RootCommand, uid: number) => Promise<AppliedCommand> = runRootCommand,
): Promise<AppliedCommand[]> {
  const refused = steps.find((s) => !s.done && s.refused !== undefined);
  if (refused) {
    throw new RoostError('BRIDGE_SETUP_REFUSED', `${refused.title}: ${refused.refused}`, {
      hint: 'nothing was changed; fix this first and run roost host bridge-setup --apply again',
    });
  }
  const done: AppliedCommand[] = [];
  for (const step of steps) {
    if (step.done) continue;
    for (const cmd of step.commands) {
      const r = await run(cmd, uid);
      done.push(r);
      if (r.code !== 0) {
        throw new RoostError(
          'BRIDGE_SETUP_FAILED',
          `${step.title}: '${r.argv.join(' ')}' failed${r.code === null ? '' : ` (exit ${r.code})`}${r.stderr ? `: ${r.stderr}` : ''}`,
          {
            hint: 'fix the cause and run roost host bridge-setup --apply again (steps already done are skipped)',
          },
        );
      }
    }
  }
  return done;
}
