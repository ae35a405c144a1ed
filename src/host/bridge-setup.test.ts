import { describe, expect, it } from 'vitest';
import {
  applySteps,
  defaultSubnet,
  gatherFacts,
  groupSharing,
  lookupUser,
  planBridgeSetup,
  rootArgv,
  shellLine,
  type HostFacts,
  type RootCommand,
} from './bridge-setup.js';
import { BRIDGE_HELPER, packagedHelper, readyHostFacts } from './testing.js';

const HELPER = BRIDGE_HELPER;
const debianFresh: HostFacts = {
  ipForward: '0',
  helper: packagedHelper(),
  bridgeConf: null,
  includes: {},
  bridgeExists: false,
  defaultNetworkDefined: true,
  defaultNetworkAutostart: false,
  dhcpRunning: false,
  tunMode: 0o20666,
};
const done: HostFacts = readyHostFacts;
const argvs = (cmds: RootCommand[]) => cmds.map((c) => c.argv.join(' '));

describe('planBridgeSetup for virbr0', () => {
  it('lists every missing step of a fresh Debian host with its commands', () => {
    const steps = planBridgeSetup({}, debianFresh);
    expect(steps.map((s) => [s.id, s.done])).toEqual([
      ['ip-forward', false],
      ['default-network', false],
      ['bridge-conf', false],
      ['helper-setuid', false],
      ['tun-device', true],
    ]);
    expect(argvs(steps[0]!.commands)).toEqual([
      'sysctl -w net.ipv4.ip_forward=1',
      'tee /etc/sysctl.d/60-roost-bridge.conf',
    ]);
    expect(argvs(steps[1]!.commands)).toEqual([
      'virsh -c qemu:///system net-start default',
      'virsh -c qemu:///system net-autostart default',
    ]);
    expect(steps[2]!.commands).toEqual([
      { argv: ['install', '-d', '-m', '0755', '/etc/qemu'] },
      { argv: ['tee', '-a', '/etc/qemu/bridge.conf'], input: 'allow virbr0\n' },
      { argv: ['chmod', '0644', '/etc/qemu/bridge.conf'] },
    ]);
    expect(argvs(steps[3]!.commands)).toEqual([`chmod u+s ${HELPER}`]);
  });
  it('has nothing to do on a host that is set up', () => {
    expect(planBridgeSetup({}, done).every((s) => s.done && s.commands.length === 0)).toBe(true);
    expect(
      planBridgeSetup({}, { ...done, bridgeConf: { ...done.bridgeConf!, text: 'allow all\n' } })[2]!.done,
    ).toBe(true);
  });
  it('fixes an unreadable bridge.conf', () => {
    const steps = planBridgeSetup({}, { ...done, bridgeConf: { ...done.bridgeConf!, mode: 0o100600 } });
    expect(steps[2]!.done).toBe(false);
    expect(argvs(steps[2]!.commands)).toEqual(['chmod 0644 /etc/qemu/bridge.conf']);
  });
  it('defines the default network when it is missing', () => {
    const steps = planBridgeSetup({}, { ...debianFresh, defaultNetworkDefined: false });
    expect(argvs(steps[1]!.commands)[0]).toBe(
      'virsh -c qemu:///system net-define /usr/share/libvirt/networks/default.xml',
    );
  });
});

describe('/dev/net/tun', () => {
  it('asks for a tun device everyone can open, as the helper opens it as the caller', () => {
    const tun = (mode: number | null) =>
      planBridgeSetup({}, { ...done, tunMode: mode }).find((s) => s.id === 'tun-device')!;
    expect(tun(0o20666).done).toBe(true);
    expect(argvs(tun(0o20600).commands)).toEqual(['chmod 0666 /dev/net/tun']);
    expect(argvs(tun(null).commands)).toEqual(['modprobe tun']);
  });
});

describe('planBridgeSetup for a bridge of one user', () => {
  const facts: HostFacts = { ...debianFresh, user: { name: 'alice', uid: 1001, gid: 1001 } };
  it('creates the bridge with DHCP, no ip_forward, and an ACL file only that user can read', () => {
    const steps = planBridgeSetup({ bridge: 'br-alice', user: 'alice', subnet: '10.80.1' }, facts);
    expect(steps.map((s) => s.id)).toEqual(['bridge', 'dhcp', 'bridge-conf', 'helper-setuid', 'tun-device']);
    expect(argvs(steps[0]!.commands)).toEqual([
      'ip link add br-alice type bridge',
      'ip addr add 10.80.1.1/24 dev br-alice',
      'ip link set br-alice up',
    ]);
    expect(steps[1]!.commands[1]!.argv).toContain('--dhcp-leasefile=/var/lib/roost/br-alice.leases');
    expect(steps[1]!.commands[1]!.argv).toContain('--dhcp-range=10.80.1.10,10.80.1.254,255.255.255.0,12h');
    expect(steps[2]!.commands).toEqual([
      { argv: ['install', '-d', '-m', '0755', '/etc/qemu'] },
      { argv: ['tee', '-a', '/etc/qemu/bridge.conf'], input: 'include /etc/qemu/roost-alice.conf\n' },
      {
        argv: ['tee', '/etc/qemu/roost-alice.conf'],
        input: '# roost: only alice may attach VMs to br-alice\nallow br-alice\n',
      },
      { argv: ['chown', '0:1001', '/etc/qemu/roost-alice.conf'] },
      { argv: ['chmod', '0640', '/etc/qemu/roost-alice.conf'] },
      { argv: ['chmod', '0644', '/etc/qemu/bridge.conf'] },
    ]);
  });
  it('is done when the include and the ACL are in place', () => {
    const steps = planBridgeSetup(
      { bridge: 'br-alice', user: 'alice' },
      {
        ...done,
        user: facts.user,
        dhcpRunning: true,
        bridgeConf: {
          path: '/etc/qemu/bridge.conf',
          mode: 0o100644,
          text: 'include /etc/qemu/roost-alice.conf\n',
        },
        includes: { '/etc/qemu/roost-alice.conf': 'allow br-alice\n' },
      },
    );
    expect(steps.filter((s) => !s.done)).toEqual([]);
  });
  it('refuses bad input before planning anything', () => {
    expect(() => planBridgeSetup({ user: 'alice' }, facts)).toThrow(/name it with --bridge/);
    expect(() => planBridgeSetup({ bridge: 'a-very-long-bridge-name' }, facts)).toThrow(
      /invalid bridge name/,
    );
    expect(() => planBridgeSetup({ bridge: 'br0', subnet: '10.300.1' }, facts)).toThrow(/invalid --subnet/);
    expect(() => planBridgeSetup({ bridge: 'br0', user: 'bob' }, debianFresh)).toThrow(/no user named 'bob'/);
  });
  it('derives a stable private subnet from the name', () => {
    expect(defaultSubnet('br-alice')).toBe(defaultSubnet('br-alice'));
    expect(defaultSubnet('br-alice')).toMatch(/^10\.(7[7-9]|[89]\d|1[01]\d|12[0-6])\.\d{1,3}$/);
  });
});

describe('running the steps', () => {
  it('goes through sudo with an argument array when not root, and quotes only for display', () => {
    const cmd = { argv: ['tee', '-a', '/etc/qemu/bridge.conf'], input: 'allow virbr0\n' };
    expect(rootArgv(cmd, 1000)).toEqual(['sudo', '--', 'tee', '-a', '/etc/qemu/bridge.conf']);
    expect(rootArgv(cmd, 0)).toEqual(['tee', '-a', '/etc/qemu/bridge.conf']);
    expect(shellLine(cmd, 1000)).toBe(
      "echo 'allow virbr0' | sudo -- tee -a /etc/qemu/bridge.conf >/dev/null",
    );
  });
  it('runs only the steps not done, and stops at the first failure', async () => {
    const ran: string[] = [];
    const steps = planBridgeSetup({}, { ...done, ipForward: '0', helper: packagedHelper() });
    await expect(
      applySteps(steps, 0, (c) => {
        ran.push(c.argv.join(' '));
        return Promise.resolve({ argv: c.argv, code: c.argv[0] === 'tee' ? 1 : 0, stderr: 'read-only' });
      }),
    ).rejects.toThrow(
      /IPv4 forwarding: 'tee \/etc\/sysctl.d\/60-roost-bridge.conf' failed \(exit 1\): read-only/,
    );
    expect(ran).toEqual(['sysctl -w net.ipv4.ip_forward=1', 'tee /etc/sysctl.d/60-roost-bridge.conf']);
  });
  it('looks users up in a passwd file', () => {
    expect(
      lookupUser('alice', 'root:x:0:0::/root:/bin/sh\nalice:x:1001:1002::/home/alice:/bin/sh\n'),
    ).toEqual({
      name: 'alice',
      uid: 1001,
      gid: 1002,
    });
    expect(lookupUser('bob', 'alice:x:1:1::/:/bin/sh')).toBeUndefined();
  });
});

describe('the setuid step trusts only a helper that only root can change', () => {
  const step = (helper: HostFacts['helper']) =>
    planBridgeSetup({}, { ...done, helper }).find((s) => s.id === 'helper-setuid')!;
  it('proposes chmod u+s on the packaged helper', () => {
    expect(argvs(step(packagedHelper()).commands)).toEqual([`chmod u+s ${HELPER}`]);
  });
  it.each([
    ['owned by a user', { ...packagedHelper(), uid: 1000 }, /owned by uid 1000/],
    ['a symbolic link', { ...packagedHelper(), symlink: true }, /symbolic link/],
    ['group-writable', packagedHelper(0o100775), /writable by group or others/],
    [
      'in a directory others can write',
      { ...packagedHelper(), dirs: [{ path: '/usr/lib/qemu', mode: 0o40777, uid: 0, gid: 0 }] },
      /\/usr\/lib\/qemu is writable by users other than root/,
    ],
  ])('refuses a helper %s, with the reason and no command', (_what, helper, why) => {
    const s = step(helper);
    expect(s.done).toBe(false);
    expect(s.commands).toEqual([]);
    expect(s.refused).toMatch(why);
    expect(s.refused).toContain('roost will not make it setuid root');
  });
  it('does not call an unsafe setuid helper done', () => {
    const s = step({ ...packagedHelper(0o104777) });
    expect(s.done).toBe(false);
    expect(s.detail).toMatch(/setuid root and unsafe/);
  });
  it('applies nothing at all when a step is refused', async () => {
    const steps = planBridgeSetup({}, { ...debianFresh, helper: { ...packagedHelper(), uid: 1000 } });
    const ran: string[] = [];
    await expect(
      applySteps(steps, 0, (c) => {
        ran.push(c.argv.join(' '));
        return Promise.resolve({ argv: c.argv, code: 0, stderr: '' });
      }),
    ).rejects.toMatchObject({ code: 'BRIDGE_SETUP_REFUSED' });
    expect(ran).toEqual([]);
  });
});

describe('the per-user ACL file is readable by that user alone', () => {
  const passwd = [
    'root:x:0:0::/root:/bin/sh',
    'alice:x:1001:1001::/home/alice:/bin/sh',
    'bob:x:1002:100::/home/bob:/bin/sh',
    'carol:x:1003:100::/home/carol:/bin/sh',
    'dave:x:1004:1005::/home/dave:/bin/sh',
    'erin:x:1006:1006::/home/erin:/bin/sh',
    'frank:x:1007:1006::/home/frank:/bin/sh',
  ].join('\n');
  const group = [
    'root:x:0:',
    'users:x:100:',
    'alice:x:1001:',
    'dave:x:1005:dave,mallory',
    'erin:x:1006:',
  ].join('\n');
  const u = (name: string, uid: number, gid: number) => ({ name, uid, gid });
  it('tells a private group from a shared one', () => {
    expect(groupSharing(u('alice', 1001, 1001), passwd, group)).toBeUndefined();
    expect(groupSharing(u('bob', 1002, 100), passwd, group)).toBe('group users is a system group (gid 100)');
    expect(groupSharing(u('dave', 1004, 1005), passwd, group)).toBe('group dave also has mallory');
    expect(groupSharing(u('erin', 1006, 1006), passwd, group)).toBe(
      "group erin is frank's primary group too",
    );
  });

  const plan = (user: HostFacts['user'], extra: Partial<HostFacts> = {}) =>
    planBridgeSetup(
      { bridge: 'br-x', user: user!.name },
      { ...done, dhcpRunning: true, user, setfacl: true, ...extra },
    ).find((s) => s.id === 'bridge-conf')!;

  it('uses the private group: root:GID 0640', () => {
    const s = plan(u('alice', 1001, 1001));
    expect(argvs(s.commands)).toContain('chown 0:1001 /etc/qemu/roost-alice.conf');
    expect(argvs(s.commands)).toContain('chmod 0640 /etc/qemu/roost-alice.conf');
  });
  it('never gives a shared group read access: root:root 0600 and an ACL entry for the uid', () => {
    const s = plan({ ...u('bob', 1002, 100), groupShared: 'group users is a system group (gid 100)' });
    const cmds = argvs(s.commands);
    expect(cmds.some((c) => c.startsWith('chown 0:100 '))).toBe(false);
    expect(cmds).toEqual(
      expect.arrayContaining([
        'chown 0:0 /etc/qemu/roost-bob.conf',
        'chmod 0600 /etc/qemu/roost-bob.conf',
        'setfacl --set u::rw,u:1002:r,g::-,m::r,o::- /etc/qemu/roost-bob.conf',
      ]),
    );
  });
  it('refuses, with the reason and the ways out, when the group is shared and setfacl is missing', () => {
    const s = plan(
      { ...u('bob', 1002, 100), groupShared: 'group users is a system group (gid 100)' },
      { setfacl: false },
    );
    expect(s.commands).toEqual([]);
    expect(s.refused).toMatch(/primary group is shared .*apt install acl.*private group/);
  });
  it('redoes an ACL file an older roost made readable by a shared group', () => {
    const bob = { ...u('bob', 1002, 100), groupShared: 'group users is a system group (gid 100)' };
    const s = plan(bob, {
      bridgeConf: {
        path: '/etc/qemu/bridge.conf',
        mode: 0o100644,
        text: 'include /etc/qemu/roost-bob.conf\n',
      },
      includes: { '/etc/qemu/roost-bob.conf': 'allow br-x\n' },
      userAcl: { uid: 0, gid: 100, mode: 0o100640 },
    });
    expect(s.done).toBe(false);
    expect(s.detail).toMatch(/readable by group 100, which bob shares with others/);
    expect(argvs(s.commands)).toContain('chmod 0600 /etc/qemu/roost-bob.conf');
  });
  it('is done with a correct private-group file, and not with one the user owns', () => {
    const alice = u('alice', 1001, 1001);
    const facts = {
      bridgeConf: {
        path: '/etc/qemu/bridge.conf',
        mode: 0o100644,
        text: 'include /etc/qemu/roost-alice.conf\n',
      },
      includes: { '/etc/qemu/roost-alice.conf': 'allow br-x\n' },
    };
    expect(plan(alice, { ...facts, userAcl: { uid: 0, gid: 1001, mode: 0o100640 } }).done).toBe(true);
    const owned = plan(alice, { ...facts, userAcl: { uid: 1001, gid: 1001, mode: 0o100640 } });
    expect(owned.done).toBe(false);
    expect(owned.detail).toMatch(/not owned by root: its owner could allow any bridge/);
  });
});

describe("gatherFacts reads this host's accounts", () => {
  it("sees that nobody's group is not nobody's alone (nogroup: sync's primary group on Debian, or a system gid)", () => {
    const facts = gatherFacts({ bridge: 'br-roosttest', user: 'nobody' });
    if (facts.user === undefined) return; // a host without the account
    expect(facts.user.groupShared).toBeDefined();
    expect(typeof facts.setfacl).toBe('boolean');
  });
});
