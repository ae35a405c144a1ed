// roost port ls|add|rm against the tiny guest as the test user: TCP and UDP forwards, conflicts refused with
// nothing changed, a change on a running VM that waits for the next start (libvirt 11.3 cannot change a running
// passt NIC in place) and one applied now by re-plugging the NIC, with the guest's connectivity gap measured; a
// start whose forwarded port another program took fails and says who. One VM, two boots (and two short ones). Traffic only to 127.0.0.1.
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachConsole } from '../../src/vm/console.js';
import { openContext, type VmContext } from '../../src/vm/context.js';
import {
  createScope,
  freePort,
  harness,
  httpGet,
  roost,
  roostJson,
  tinyGuest,
  tinyCreateArgs,
  virsh,
  waitUntil,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('ports', user, uri);
const guest = tinyGuest(user);
const name = scope.name('vm');
const bootArgs = tinyCreateArgs(guest);
let ctx: VmContext;

interface ChangeJson {
  applied: string;
  added: string[];
  removed: string[];
  reason?: string;
  nicGapMs?: number;
  warnings: string[];
  ports: string[];
}
interface LsJson {
  running: boolean;
  ports: { spec: string; state: string; exposed: boolean }[];
}

const pageOk = (port: number) =>
  httpGet(port, '/', 2_000)
    .then((r) => r.body.includes('roost tiny guest OK'))
    .catch(() => false);

/** One UDP datagram to 127.0.0.1:port; true when the echo comes back within the timeout. */
function udpEcho(port: number, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const token = `roost-udp-${Math.random()}`;
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('message', (m) => done(m.toString() === token));
    sock.on('error', () => done(false));
    sock.send(token, port, '127.0.0.1');
  });
}

/** 'refused' when nothing listens on the host port any more; 'open' when something accepts. */
function tcpState(port: number): Promise<'refused' | 'open'> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve('open');
      });
      s.once('error', () => resolve('refused'));
    });
  });
}

const inactiveXml = async () => (await virsh(uri, ['dumpxml', '--inactive', name])).stdout;

let p1: number; // given at create
let t: number; // TCP → 80, added while running (next start)
let u: number; // UDP → 7, added while running (next start)
let t2: number; // TCP → 80, added with --apply now (re-plug)

beforeAll(async () => {
  ctx = await openContext({ uri });
  [p1, t, u, t2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const r = await roost(
    user,
    ['create', name, ...bootArgs, '--port', `${p1}:80`, '--wait', 'port:80', '--json'],
    {
      timeoutMs: 300_000,
    },
  );
  if (r.code !== 0) throw new Error(`create failed: ${r.stderr}`);
});
afterAll(async () => {
  await ctx?.close();
  await scope.cleanup();
});

describe('roost port', () => {
  it('lists the forward given at create as active', async () => {
    const ls = await roostJson<LsJson>(user, ['port', 'ls', name]);
    expect(ls.running).toBe(true);
    expect(ls.ports).toEqual([
      {
        spec: `127.0.0.1:${p1}:80/tcp`,
        proto: 'tcp',
        address: '127.0.0.1',
        host: `${p1}`,
        guest: '80',
        state: 'active',
        exposed: false,
        tunnel: null, // a local VM's forward is reached here, with no ssh line
      },
    ]);
    expect((await roost(user, ['port', 'ls', name])).stdout).toMatch(
      new RegExp(`tcp\\s+127\\.0\\.0\\.1\\s+${p1}\\s+80\\s+active`),
    );
  });

  it('refuses conflicts before anything changes: in use, forwarded to another VM, privileged, overlapping', async () => {
    const other = scope.name('other');
    const p2 = await freePort();
    const made = await roost(user, ['create', other, ...bootArgs, '--no-start', '--port', `${p2}:80`]);
    expect(made.code).toBe(0);
    const busy: Server = createServer();
    const busyPort = await freePort();
    await new Promise<void>((r) => busy.listen(busyPort, '127.0.0.1', r));
    try {
      const before = await inactiveXml();
      const cases: [string[], RegExp][] = [
        [[`${busyPort}:80`], /host port \d+\/tcp on 127\.0\.0\.1 is already in use by another program/],
        [[`${p2}:81`], new RegExp(`already forwarded to VM '${other}'`)],
        [[`${p1}:81`], /overlaps this VM's forward/],
        [['80:80'], /ports below 1024 need root/],
        [['8x:80'], /invalid port forward/],
      ];
      for (const [args, re] of cases) {
        const r = await roost(user, ['port', 'add', name, ...args]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(re);
      }
      // A good forward in the same call as a bad one: refused as a whole.
      const mixed = await roost(user, ['port', 'add', name, `${t}:80`, `${busyPort}:80`]);
      expect(mixed.code).toBe(2);
      const rm = await roost(user, ['port', 'rm', name, '65000']);
      expect(rm.code).toBe(2);
      expect(rm.stderr).toMatch(/no forward matches '65000'/);
      expect(await inactiveXml()).toBe(before);
    } finally {
      busy.close();
    }
  });

  it('adds TCP and UDP forwards to the running VM; libvirt cannot apply them in place, so they wait for the next start', async () => {
    const r = await roostJson<ChangeJson>(user, ['port', 'add', name, `${t}:80`, `${u}:7/udp`]);
    expect(r.added).toEqual([`127.0.0.1:${t}:80/tcp`, `127.0.0.1:${u}:7/udp`]);
    // The tiny guest has no guest agent: roost does not cut its network to apply the change now.
    expect(r.applied).toBe('next-start');
    expect(r.reason).toMatch(/does not apply port forward changes/);
    const human = await roost(user, ['port', 'ls', name]);
    expect(human.stdout).toMatch(new RegExp(`udp\\s+127\\.0\\.0\\.1\\s+${u}\\s+7\\s+next start`));
    expect(await tcpState(t)).toBe('refused');
    expect(await udpEcho(u)).toBe(false);
    expect(await pageOk(p1)).toBe(true); // the running forwards are untouched
  });

  it('applies them at the next start: HTTP and UDP echo answer through the new forwards', async () => {
    const r = await roost(user, ['restart', name], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(await waitUntil(() => pageOk(t), 120_000, 500)).toBe(true);
    expect(await waitUntil(() => udpEcho(u), 30_000, 250)).toBe(true);
    expect(await pageOk(p1)).toBe(true);
    const ls = await roostJson<LsJson>(user, ['port', 'ls', name]);
    expect(ls.ports.map((p) => p.state)).toEqual(['active', 'active', 'active']);
  });

  it('removes a forward (pending until stop), then re-plugs the NIC with --apply now: the removed port is refused, the new one answers once the guest re-runs DHCP', async () => {
    const rm = await roostJson<ChangeJson>(user, ['port', 'rm', name, `${t}`]);
    expect(rm.removed).toEqual([`127.0.0.1:${t}:80/tcp`]);
    expect(rm.applied).toBe('next-start');
    expect(
      (await roostJson<LsJson>(user, ['port', 'ls', name])).ports.find((p) => p.spec.includes(`:${t}:`))
        ?.state,
    ).toBe('removed-at-next-start');

    const t0 = Date.now();
    const add = await roostJson<ChangeJson>(user, ['port', 'add', name, `${t2}:80`, '--apply', 'now']);
    expect(add.applied).toBe('replug');
    expect(add.nicGapMs).toBeGreaterThan(0);
    // The new passt listens with the whole new list: the removed forward is gone at once.
    expect(await tcpState(t)).toBe('refused');

    // The tiny guest ran udhcpc once at boot and does not notice a new NIC: do on its console what a
    // hotplug-aware guest (systemd-networkd, NetworkManager, ifupdown allow-hotplug) does by itself.
    const input = new PassThrough();
    const output = new PassThrough();
    let seen = '';
    output.on('data', (b: Buffer) => (seen += b.toString('utf8')));
    const attached = attachConsole(ctx, name, { input, output });
    input.write(
      'for d in /sys/class/net/e*; do n=${d##*/}; ip link set $n up; udhcpc -i $n -n -q -t 20 -T 1 -s /etc/udhcpc.script >/dev/null 2>&1; done; echo ROOST-REDHCP-$((6*7))\n',
    );
    expect(await waitUntil(() => seen.includes('ROOST-REDHCP-42'), 60_000)).toBe(true);
    input.write(Buffer.from([0x1d]));
    await attached;
    expect(await waitUntil(() => pageOk(t2), 30_000, 200)).toBe(true);
    const gapMs = Date.now() - t0;
    console.log(
      `re-plug: NIC absent ${add.nicGapMs} ms; new forward answering ${gapMs} ms after 'port add' (guest DHCP by console)`,
    );
    expect(await pageOk(p1)).toBe(true);
    expect(await udpEcho(u)).toBe(true);
    const ls = await roostJson<LsJson>(user, ['port', 'ls', name]);
    // libvirt groups ranges per (proto, address): compare as a set.
    expect(ls.ports.map((p) => [p.spec, p.state]).sort()).toEqual(
      [
        [`127.0.0.1:${p1}:80/tcp`, 'active'],
        [`127.0.0.1:${u}:7/udp`, 'active'],
        [`127.0.0.1:${t2}:80/tcp`, 'active'],
      ].sort(),
    );
  });

  it('warns when a forward listens on every host address', async () => {
    const p = await freePort();
    const r = await roost(user, ['port', 'add', name, `0.0.0.0:${p}:80`, '--apply', 'next-start']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: 0\.0\.0\.0:\d+:80\/tcp listens on every address of this host/);
    expect(r.stdout).toMatch(/applies at next start/);
    const ls = await roostJson<LsJson>(user, ['port', 'ls', name]);
    expect(ls.ports.find((x) => x.spec === `0.0.0.0:${p}:80/tcp`)).toMatchObject({
      exposed: true,
      state: 'next-start',
    });
  });

  it('start fails when another program holds a forwarded port (passt would drop it silently), naming the port and its holder, and stops the VM again', async () => {
    const vm = scope.name('taken');
    const [free, taken] = [await freePort(), await freePort()];
    const made = await roost(user, [
      'create',
      vm,
      ...bootArgs,
      '--port',
      `${free}:80`,
      '--port',
      `${taken}:80`,
      '--no-start',
    ]);
    expect(made.code, made.stderr).toBe(0);
    // Taken after create checked it: passt binds the free port and silently leaves out the taken one.
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(taken, '127.0.0.1', r));
    try {
      const r = await roost(user, ['start', vm]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `VM '${vm}' was stopped again right after its start: host port ${taken}/tcp on 127.0.0.1 (127.0.0.1:${taken}:80/tcp) is held by a process of user root (uid 0): passt could not listen on it`,
      );
      expect(r.stderr).toContain(`roost port rm ${vm} 127.0.0.1:${taken}:80/tcp`);
      expect((await virsh(uri, ['domstate', vm])).stdout.trim()).toBe('shut off');
      expect(await tcpState(free)).toBe('refused');
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
    const again = await roost(user, ['start', vm]);
    try {
      expect(again.code, again.stderr).toBe(0);
      expect(await tcpState(taken)).toBe('open');
    } finally {
      await roost(user, ['rm', '--force', vm]);
    }
  });

  it('create warns the same way for --port on every host address', async () => {
    const vm = scope.name('exposed');
    const p = await freePort();
    const r = await roost(user, [
      'create',
      vm,
      ...bootArgs,
      '--port',
      `0.0.0.0:${p}:80`,
      '--no-start',
      '--json',
    ]);
    try {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        `warning: 0.0.0.0:${p}:80/tcp listens on every address of this host: other machines on the network can reach`,
      );
      expect(JSON.parse(r.stdout)).toMatchObject({ ports: [`0.0.0.0:${p}:80/tcp`] });
    } finally {
      await roost(user, ['rm', vm]);
    }
  });
});
