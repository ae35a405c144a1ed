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
//
// This module plans the steps (pure, from host facts); bridge-model.ts has the request and the shapes,
// bridge-facts.ts reads the facts, bridge-acl.ts plans bridge.conf, bridge-apply.ts runs the commands.
import { DEFAULT_BRIDGE, helperHazard, type FileFacts } from './checks/bridge.js';
import { bridgeConfStep } from './bridge-acl.js';
import {
  checkRequest,
  defaultSubnet,
  dhcpPidFile,
  leaseFileOf,
  ROOST_STATE_DIR,
  type BridgeSetupRequest,
  type HostFacts,
  type RootCommand,
  type SetupStep,
} from './bridge-model.js';

export {
  checkRequest,
  defaultSubnet,
  dhcpPidFile,
  leaseFileOf,
  ROOST_STATE_DIR,
  userAclFile,
  type AclFileFacts,
  type BridgeSetupRequest,
  type CheckedRequest,
  type HostFacts,
  type RootCommand,
  type SetupStep,
  type UserFacts,
} from './bridge-model.js';
export { gatherFacts, groupSharing, lookupUser } from './bridge-facts.js';
export { applySteps, rootArgv, runRootCommand, shellLine, type AppliedCommand } from './bridge-apply.js';

const S_ISUID = 0o4000;
const LIBVIRT_DEFAULT_NET_XML = '/usr/share/libvirt/networks/default.xml';

/** The steps, pure: each with `done` and the root commands that would do it. */
export function planBridgeSetup(request: BridgeSetupRequest, facts: HostFacts): SetupStep[] {
  const req = checkRequest(request);
  const own = req.bridge !== DEFAULT_BRIDGE;
  const subnet = req.subnet ?? defaultSubnet(req.bridge);
  return [
    ...(own
      ? [ownBridgeStep(req.bridge, subnet, facts), dhcpStep(req.bridge, subnet, facts)]
      : [ipForwardStep(facts), defaultNetworkStep(facts)]),
    bridgeConfStep(req, facts),
    helperStep(facts.helper),
    tunStep(facts.tunMode),
  ];
}

/** The default network's NAT routes guests out only with IPv4 forwarding on. */
function ipForwardStep(facts: HostFacts): SetupStep {
  const on = facts.ipForward === '1';
  return {
    id: 'ip-forward',
    title: 'IPv4 forwarding',
    done: on,
    detail: on
      ? 'net.ipv4.ip_forward is 1'
      : `net.ipv4.ip_forward is ${facts.ipForward ?? 'unknown'}: the default network's NAT cannot route guests out`,
    commands: on
      ? []
      : [
          { argv: ['sysctl', '-w', 'net.ipv4.ip_forward=1'] },
          { argv: ['tee', '/etc/sysctl.d/60-roost-bridge.conf'], input: 'net.ipv4.ip_forward = 1\n' },
        ],
  };
}

/** libvirt's default network (system connection) owns virbr0: defined, started, autostarted. */
function defaultNetworkStep(facts: HostFacts): SetupStep {
  const virsh = (...args: string[]): RootCommand => ({ argv: ['virsh', '-c', 'qemu:///system', ...args] });
  const commands: RootCommand[] = [];
  if (!facts.defaultNetworkDefined) commands.push(virsh('net-define', LIBVIRT_DEFAULT_NET_XML));
  if (!facts.bridgeExists) commands.push(virsh('net-start', 'default'));
  if (!facts.defaultNetworkAutostart) commands.push(virsh('net-autostart', 'default'));
  return {
    id: 'default-network',
    title: "libvirt's default network (virbr0)",
    done: commands.length === 0,
    detail:
      commands.length === 0
        ? 'virbr0 is up and the default network autostarts'
        : [
            facts.defaultNetworkDefined ? '' : 'the default network is not defined',
            facts.bridgeExists ? '' : 'virbr0 does not exist (network not started)',
            facts.defaultNetworkAutostart ? '' : 'the default network does not autostart',
          ]
            .filter(Boolean)
            .join('; '),
    commands,
  };
}

/** A host-only bridge of roost's own: an address for the host, attached to no physical NIC. */
function ownBridgeStep(bridge: string, subnet: string, facts: HostFacts): SetupStep {
  return {
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
  };
}

/** dnsmasq hands out addresses on the own bridge; its lease file is where `roost ip` looks. */
function dhcpStep(bridge: string, subnet: string, facts: HostFacts): SetupStep {
  return {
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
  };
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

/**
 * The helper opens /dev/net/tun after dropping to the caller's uid (keeping only CAP_NET_ADMIN), so the device
 * must be usable by everyone, as distributions make it (0666). Some containers ship it 0600.
 */
function tunStep(tunMode: number | null): SetupStep {
  const ok = tunMode !== null && (tunMode & 0o006) === 0o006;
  return {
    id: 'tun-device',
    title: '/dev/net/tun',
    done: ok,
    detail: ok
      ? '/dev/net/tun is usable by everyone'
      : tunMode === null
        ? '/dev/net/tun does not exist: load the tun module'
        : `/dev/net/tun is mode ${(tunMode & 0o777).toString(8)}: qemu-bridge-helper, running as you, cannot open it (not persistent across reboots: fix your udev rules or container config too)`,
    commands: ok
      ? []
      : tunMode === null
        ? [{ argv: ['modprobe', 'tun'] }]
        : [{ argv: ['chmod', '0666', '/dev/net/tun'] }],
  };
}
