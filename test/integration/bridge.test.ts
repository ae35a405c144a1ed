// --network bridge=NAME end to end, entirely inside a network namespace this test creates: a bridge with
// dnsmasq (DHCP, lease file), the test user's own session daemon started inside the namespace (so the setuid
// qemu-bridge-helper it runs puts the VM's tap on the namespace's bridge), the tiny guest getting a lease,
// `roost ip` finding it as the test user (no root), and HTTP to that address from inside the namespace.
// No traffic leaves the namespace.
//
// Host-global state this test touches, as `roost host bridge-setup` would, and restores exactly in afterAll:
// /etc/qemu/bridge.conf (an `allow` line for the namespace's bridge name), the setuid bit of the helper and
// the mode of /dev/net/tun (0600 in this container; the helper opens it as the user).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_CONF, inspectBridgeHelper } from '../../src/host/checks/bridge.js';
import { roostPaths } from '../../src/paths.js';
import {
  CLI,
  assertBuilt,
  createNetns,
  freePort,
  harness,
  isAlive,
  tinyGuest,
  tinyCreateArgs,
  waitUntil,
  type Netns,
} from '../harness/index.js';

const { user } = harness();
const guest = tinyGuest(user);
const bridge = `rtbr${randomBytes(3).toString('hex')}`; // ≤ 15 characters
const name = `rt-bridge-${randomBytes(3).toString('hex')}-vm`;
const both = `${name}-both`;

let ns: Netns | undefined;
let work: string;
let daemonPid: number | undefined;
let uri: string;
let xdg: Record<string, string>;
// What to put back.
let confBefore: { text: string; mode: number } | null = null;
let qemuDirExisted = false;
let helperPath: string | undefined;
let helperModeBefore: number | undefined;
const TUN = '/dev/net/tun';
let tunModeBefore: number | undefined;

/** Runs a command as the test user inside the namespace with this test's private XDG directories. */
function asUserInNs(cmd: string, args: string[], timeoutMs = 120_000) {
  const env = Object.entries(xdg).map(([k, v]) => `${k}=${v}`);
  return ns!.exec('env', [...env, cmd, ...args], { as: user, check: false, timeoutMs });
}
const roostInNs = (args: string[]) => asUserInNs(process.execPath, [CLI, '--connect', uri, ...args]);

beforeAll(async () => {
  assertBuilt();
  if (process.getuid?.() !== 0) throw new Error('the bridge test needs root (namespaces, bridge.conf)');
  const helper = inspectBridgeHelper();
  if (!helper) throw new Error('qemu-bridge-helper is not installed');

  // 1. Host-global pieces, recorded first so that afterAll can restore them whatever happens next.
  qemuDirExisted = existsSync('/etc/qemu');
  if (existsSync(BRIDGE_CONF)) {
    confBefore = { text: readFileSync(BRIDGE_CONF, 'utf8'), mode: statSync(BRIDGE_CONF).mode & 0o7777 };
  }
  helperPath = helper.path;
  helperModeBefore = helper.mode & 0o7777;
  mkdirSync('/etc/qemu', { recursive: true, mode: 0o755 });
  writeFileSync(
    BRIDGE_CONF,
    `${confBefore?.text ?? ''}${confBefore && !confBefore.text.endsWith('\n') ? '\n' : ''}allow ${bridge}\n`,
  );
  chmodSync(BRIDGE_CONF, 0o644);
  chmodSync(helper.path, helperModeBefore | 0o4000);
  // The helper opens the tun device as the user (it keeps only CAP_NET_ADMIN): distributions make it 0666,
  // this container has it 0600. bridge-setup has a step for it; here it is done and undone by hand.
  tunModeBefore = statSync(TUN).mode & 0o7777;
  chmodSync(TUN, tunModeBefore | 0o666);

  // 2. The namespace: bridge + dnsmasq with its lease file.
  ns = await createNetns({ bridge, subnet: '10.213.9' });

  // 3. A session daemon of the test user inside it, with private XDG dirs (no clash with the harness daemon,
  //    which shares the user's home).
  work = mkdtempSync(join(tmpdir(), 'roost-bridge-'));
  chmodSync(work, 0o755);
  xdg = {};
  for (const [k, dir] of [
    ['XDG_RUNTIME_DIR', 'run'],
    ['XDG_CONFIG_HOME', 'config'],
    ['XDG_CACHE_HOME', 'cache'],
    ['XDG_STATE_HOME', 'state'],
    ['XDG_DATA_HOME', 'data'],
  ] as const) {
    const p = join(work, dir);
    mkdirSync(p, { mode: 0o700 });
    chownSync(p, user.uid, user.gid);
    xdg[k] = p;
  }
  const socket = join(xdg.XDG_RUNTIME_DIR!, 'libvirt', 'libvirt-sock');
  uri = `qemu:///session?socket=${socket}`;
  const env = Object.entries(xdg).map(([k, v]) => `${k}=${v}`);
  const [head, ...rest] = ns.argv('env', [...env, '/usr/sbin/libvirtd'], user);
  const child = spawn(head!, rest, { detached: true, stdio: 'ignore' });
  child.unref();
  const pidFile = join(xdg.XDG_RUNTIME_DIR!, 'libvirt', 'libvirtd.pid');
  if (!(await waitUntil(() => existsSync(socket) && existsSync(pidFile), 20_000, 100))) {
    throw new Error('the session daemon did not start inside the namespace');
  }
  daemonPid = Number(readFileSync(pidFile, 'utf8').trim());
}, 120_000);

afterAll(async () => {
  try {
    if (ns && uri) {
      for (const vm of [name, both]) {
        await asUserInNs('virsh', ['-c', uri, 'destroy', vm]);
        await asUserInNs('virsh', ['-c', uri, 'undefine', vm, '--nvram']);
      }
    }
    if (daemonPid !== undefined && isAlive(daemonPid)) {
      process.kill(daemonPid, 'SIGTERM');
      await waitUntil(() => !isAlive(daemonPid!), 10_000);
    }
    await ns?.destroy(); // kills whatever still runs inside (virtlogd, a stray QEMU)
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
    if (helperPath !== undefined && helperModeBefore !== undefined) chmodSync(helperPath, helperModeBefore);
    if (tunModeBefore !== undefined) chmodSync(TUN, tunModeBefore);
    if (confBefore) {
      writeFileSync(BRIDGE_CONF, confBefore.text);
      chmodSync(BRIDGE_CONF, confBefore.mode);
    } else {
      rmSync(BRIDGE_CONF, { force: true });
      if (!qemuDirExisted) rmSync('/etc/qemu', { recursive: true, force: true });
    }
  }
}, 120_000);

describe('--network bridge inside a network namespace', () => {
  let ip: string;

  it('creates the VM on the bridge; the tiny guest gets a DHCP lease from the namespace dnsmasq', async () => {
    const r = await roostInNs([
      'create',
      name,
      ...tinyCreateArgs(guest),
      '--network',
      `bridge=${bridge}`,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'running', ports: [] });
    expect(await waitUntil(() => ns!.leases().length > 0, 120_000, 500)).toBe(true);
    // The tap the helper made is a port of the namespace's bridge, not of anything on the host.
    const links = await ns!.exec('ip', ['-o', 'link', 'show', 'master', bridge]);
    expect(links.stdout).toMatch(/tap|vnet/);
  });

  it('roost ip finds the address without root, and says where from', async () => {
    const lease = ns!.leases()[0]!;
    const r = await roostInNs(['ip', name, '--json', '--lease-file', ns!.leaseFile]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      ip: string;
      nics: {
        mac: string;
        network: string;
        addresses: { ip: string; source: string }[];
        tried: { source: string; result: string }[];
      }[];
    };
    expect(out.ip).toBe(lease.ip);
    expect(out.nics[0]!.mac).toBe(lease.mac);
    expect(out.nics[0]!.network).toBe(`bridge:${bridge}`);
    // The tiny guest has an agent channel but no agent: those steps fail, a later source answers.
    expect(out.nics[0]!.tried.slice(0, 2).map((t) => t.result)).toEqual(['error', 'error']);
    expect(['libvirt-arp', 'lease-file', 'arp-table']).toContain(out.nics[0]!.addresses[0]!.source);
    ip = out.ip;

    console.log(
      `roost ip: ${ip} from ${out.nics[0]!.addresses[0]!.source}; tried ${JSON.stringify(out.nics[0]!.tried)}`,
    );
    const human = await roostInNs(['ip', name, '--lease-file', ns!.leaseFile]);
    expect(human.stdout).toContain(`${lease.ip}  bridge:${bridge}  ${lease.mac}`);
  });

  it('serves HTTP at that address to a client inside the namespace', async () => {
    const ok = await waitUntil(
      async () => {
        const r = await ns!.exec('curl', ['-s', '--max-time', '3', `http://${ip}/`], { check: false });
        return r.stdout.includes('roost tiny guest OK');
      },
      60_000,
      500,
    );
    expect(ok).toBe(true);
  });

  it('roost ip finds it with no lease file at all, from the neighbour table the HTTP traffic filled', async () => {
    // What a user without a readable lease file gets: the agent steps fail (no agent in the tiny guest), the
    // lease-file step has nothing to read, and libvirt's ARP source or /proc/net/arp of this namespace answers.
    const r = await roostInNs(['ip', name, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      ip: string;
      nics: { addresses: { ip: string; source: string }[]; tried: { source: string; result: string }[] }[];
    };
    expect(out.ip).toBe(ip);
    expect(['libvirt-arp', 'arp-table']).toContain(out.nics[0]!.addresses[0]!.source);
    console.log(`roost ip without a lease file: ${ip} from ${out.nics[0]!.addresses[0]!.source}`);
  });

  it('roost info shows that address and where it came from', async () => {
    const r = await asUserInNs('env', [
      `ROOST_LEASE_FILES=${ns!.leaseFile}`,
      process.execPath,
      CLI,
      '--connect',
      uri,
      'info',
      name,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { ip: string; ipSource: { source: string; where: string | null } };
    expect(info.ip).toBe(ip);
    expect(['libvirt-arp', 'lease-file', 'arp-table']).toContain(info.ipSource.source);
    if (info.ipSource.source === 'lease-file') expect(info.ipSource.where).toBe(ns!.leaseFile);
  });

  it('roost ssh goes to guest port 22 at that address (the tiny guest has no sshd: refused there)', async () => {
    const asUser = (args: string[]) =>
      asUserInNs('env', [
        `ROOST_LEASE_FILES=${ns!.leaseFile}`,
        process.execPath,
        CLI,
        '--connect',
        uri,
        ...args,
      ]);
    const printed = await asUser(['ssh', name, '--print', '--json']);
    expect(printed.code, printed.stderr).toBe(0);
    const argv = (JSON.parse(printed.stdout) as { argv: string[] }).argv;
    expect(argv.slice(0, 3)).toEqual(['ssh', '-p', '22']);
    expect(argv.slice(-3)).toEqual(['-l', 'root', ip]);
    // The real ssh client, run by roost, reaches that address: the guest's kernel answers with a refusal.
    const ran = await asUser(['ssh', name, '--', 'true']);
    expect(ran.code).toBe(255);
    expect(ran.stderr).toContain(`connect to host ${ip} port 22: Connection refused`);
  });

  it('port ls shows the forwards an auto-ports watcher holds for a bridged VM (which has no passt NIC)', async () => {
    // A watcher needs sshd in the guest; the tiny guest has none. Its state file — what port ls reads — is
    // written here as a watcher writes it, naming a live process of the user (their daemon) as its owner.
    const dir = join(roostPaths({ ...xdg, HOME: user.home }).state, 'auto-ports');
    const state = join(dir, `${name}.json`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (let d = dir; d.startsWith(work) && d !== work; d = dirname(d)) chownSync(d, user.uid, user.gid);
    const watcher = {
      vm: name,
      pid: daemonPid,
      ports: [8000],
      skipped: [],
      updatedAt: new Date().toISOString(),
    };
    writeFileSync(state, JSON.stringify(watcher), { mode: 0o600 });
    chownSync(state, user.uid, user.gid);
    try {
      const r = await roostInNs(['port', 'ls', name, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { ports: { spec: string; state: string }[] }).ports).toEqual([
        expect.objectContaining({ spec: '127.0.0.1:8000:8000/tcp', state: 'auto' }),
      ]);
    } finally {
      rmSync(state, { force: true });
    }
  });

  it('port add refuses a bridged VM and points at roost ip', async () => {
    const r = await roostInNs(['port', 'add', name, '18080:80']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has no passt network interface/);
    expect(r.stderr).toContain(`roost ip ${name}`);
  });
});

describe('both: a bridge NIC for its own address and a passt NIC for forwarded ports, in one VM', () => {
  let port: number;
  let mac: string;

  beforeAll(async () => {
    // passt copies the host's default route and address into the guest, and will not start without one. The
    // namespace gets a veth pair with both ends inside it, on a subnet of its own, as its default route: what
    // is sent there reaches an end with no address and is dropped. Nothing leaves the namespace, and the passt
    // NIC's subnet is not the bridge's.
    for (const args of [
      ['link', 'add', 'rtveth0', 'type', 'veth', 'peer', 'name', 'rtveth1'],
      ['addr', 'add', '10.250.0.1/24', 'dev', 'rtveth0'],
      ['link', 'set', 'rtveth0', 'up'],
      ['link', 'set', 'rtveth1', 'up'],
      ['route', 'add', 'default', 'via', '10.250.0.254', 'dev', 'rtveth0'],
    ])
      await ns!.exec('ip', args);
  });

  it('creates it with two --network options, the forward on the passt NIC', async () => {
    port = await freePort();
    const r = await roostInNs([
      'create',
      both,
      ...tinyCreateArgs(guest),
      '--network',
      `bridge=${bridge}`,
      '--network',
      'user',
      '--port',
      `127.0.0.1:${port}:80`,
      '--wait',
      'port:80',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'running', ports: [`127.0.0.1:${port}:80/tcp`] });
    const ls = JSON.parse((await roostInNs(['ls', '--json'])).stdout) as {
      name: string;
      networks: string[];
    }[];
    expect(ls.find((v) => v.name === both)!.networks).toEqual([`bridge:${bridge}`, 'user']);
  });

  it('roost ip reports both: the lease of the bridge NIC and the endpoint of the passt one', async () => {
    const r = await roostInNs(['ip', both, '--json', '--lease-file', ns!.leaseFile]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      ip: string;
      nics: { mac: string; network: string; addresses: { ip: string }[]; endpoints?: string[] }[];
    };
    expect(out.nics.map((n) => n.network)).toEqual([`bridge:${bridge}`, 'user (passt)']);
    mac = out.nics[0]!.mac;
    const lease = ns!.leases().find((l) => l.mac === mac);
    expect(lease).toBeDefined();
    expect(out.ip).toBe(lease!.ip);
    expect(out.nics[1]!.endpoints).toEqual([`127.0.0.1:${port} → 80/tcp`]);
    const human = await roostInNs(['ip', both, '--lease-file', ns!.leaseFile]);
    expect(human.stdout).toContain(`${out.ip}  bridge:${bridge}`);
    expect(human.stdout).toContain(`127.0.0.1:${port} → 80/tcp  user (passt)`);
    console.log(`$ roost ip ${both} --lease-file …\n${human.stdout}`);
  });

  it('serves its page both ways: at its bridge address and through the forward', async () => {
    const lease = ns!.leases().find((l) => l.mac === mac)!;
    for (const url of [`http://${lease.ip}/`, `http://127.0.0.1:${port}/`]) {
      const r = await ns!.exec('curl', ['-s', '--max-time', '5', url], { check: false });
      expect(r.stdout, url).toContain('roost tiny guest OK');
    }
  });
});
