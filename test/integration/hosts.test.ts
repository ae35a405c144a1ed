// roost on a remote host: a private sshd on 127.0.0.1 (random port, own host key) admits a second unprivileged
// user by key, with its own home and its own session daemon — the "remote host" (test/harness/remote-host.ts,
// shared with hosts-debian.test.ts, which logs in to a guest there with ssh and cp). The test user runs the built
// CLI with -c qemu+ssh://… (and through hosts.yaml, -H NAME): the tiny kernel guest is created there (kernel and
// initrd uploaded into the remote pool), its page answers through the remote forward via an ssh -L tunnel from
// here, its serial log is read back, a port is added, and rm leaves nothing on either side. `ls --all-hosts`
// with one host down, and a changed host key refused. Needs root (sshd, a second user); skips otherwise.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  freePort,
  harness,
  processesOf,
  roost,
  spawnOptionsFor,
  tinyCreateArgs,
  tinyGuest,
  tinyPageAnswers,
  virsh,
  waitUntil,
  type TestUser,
} from '../harness/index.js';
import { startRemoteHost, tcpOpen, type RemoteHost } from '../harness/remote-host.js';
import type { PortList } from '../../src/shared/ports.js';

const IS_ROOT = process.getuid?.() === 0;
if (!IS_ROOT)
  console.warn('hosts.test.ts: skipped — it must run as root to start sshd and add a second user');

const { user, uri: localUri } = harness();
const scope = createScope('hosts', user, localUri);
const guest = tinyGuest(user);
const vm = scope.name('vm');

function sh(cmd: string, args: string[]): string {
  const out = spawnSync(cmd, args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${out.stderr || out.error}`);
  return out.stdout.trim();
}

/** Files under `dir` whose name contains `part` (recursively; unreadable dirs skipped). */
function filesNamed(dir: string, part: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.name.includes(part)) found.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return found;
}

describe.skipIf(!IS_ROOT)('roost on a remote host over qemu+ssh://', () => {
  let host: RemoteHost;
  let port: number;
  let remote: TestUser;
  let key: string;
  let remoteUri: string;
  let REMOTE_NAME: string;
  const tunnels: ChildProcess[] = [];
  // The remote tiny VM's forwards: its page, and a forward to guest port 22.
  let guestPort = 0;
  let sshPort = 0;

  const ssh = ['-F', '/dev/null'];
  const hostsFile = () => join(user.home, '.config', 'roost', 'hosts.yaml');
  const R = (args: string[], timeoutMs?: number) => roost(user, ['-c', remoteUri, ...args], { timeoutMs });

  beforeAll(async () => {
    host = await startRemoteHost(user, scope);
    ({ port, key, uri: remoteUri, user: remote } = host);
    REMOTE_NAME = remote.name;
  }, 120_000);

  afterAll(async () => {
    for (const t of tunnels) t.kill('SIGTERM');
    if (host) {
      await scope.cleanup().catch(() => undefined);
      await host.stop(scope);
    }
    rmSync(hostsFile(), { force: true });
  }, 120_000);

  /** An ssh -L tunnel from here to the remote host's 127.0.0.1:PORT, as the test user; its local port. */
  async function tunnelTo(remotePort: number): Promise<number> {
    const local = await freePort();
    const args = [
      ...ssh,
      '-i',
      key,
      '-p',
      String(port),
      '-o',
      'BatchMode=yes',
      '-o',
      'ExitOnForwardFailure=yes',
    ];
    args.push('-N', '-L', `127.0.0.1:${local}:127.0.0.1:${remotePort}`, `${REMOTE_NAME}@127.0.0.1`);
    const child = spawn('ssh', args, { ...spawnOptionsFor(user), stdio: 'ignore' });
    tunnels.push(child);
    if (!(await waitUntil(() => tcpOpen(local), 10_000))) throw new Error('the ssh -L tunnel did not open');
    return local;
  }

  /** A TCP listener on 127.0.0.1:PORT owned by the remote user (a program of theirs on "their" host). */
  async function listenAsRemote(listenPort: number): Promise<ChildProcess> {
    const code = `require('net').createServer().listen(${listenPort}, '127.0.0.1', () => console.log('up'))`;
    const child = spawn(process.execPath, ['-e', code], {
      ...spawnOptionsFor(remote),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    tunnels.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (c) => reject(new Error(`the listener as ${remote.name} exited (${c})`)));
    });
    return child;
  }

  it('refuses a --port whose host port a program of the remote user holds there: the remote host named, nothing made', async () => {
    const taken = await freePort();
    const holder = await listenAsRemote(taken);
    try {
      const name = scope.name('busy');
      const r = await R(['create', name, ...tinyCreateArgs(guest), '--port', `127.0.0.1:${taken}:80`]);
      expect(r.code, r.stderr).toBe(2);
      // The remote check's words: the host it asked (the local probe would name no host).
      expect(r.stderr).toContain(
        `host port ${taken}/tcp on 127.0.0.1 of the remote host ${REMOTE_NAME}@127.0.0.1:${port} is already in use`,
      );
      expect(r.stderr).toMatch(new RegExp(`ssh -p ${port} ${REMOTE_NAME}@127\\.0\\.0\\.1 ss -lnpt`));
      expect((await virsh(host.daemonUri, ['list', '--all', '--name'])).stdout).not.toContain(name);
      const vols = (await virsh(host.daemonUri, ['vol-list', 'roost'], { check: false })).stdout;
      expect(vols).not.toContain(name);
    } finally {
      holder.kill('SIGTERM');
    }
  }, 120_000);

  it('creates the tiny kernel guest on the remote host: its files there, its page through the remote forward', async () => {
    guestPort = await freePort();
    sshPort = await freePort(); // a forward to guest port 22 (the tiny guest has no sshd: for roost ssh's route)
    const made = await R(
      [
        'create',
        vm,
        ...tinyCreateArgs(guest),
        '--port',
        `127.0.0.1:${guestPort}:80`,
        '--port',
        `127.0.0.1:${sshPort}:22`,
        '--wait',
        'port:80',
      ],
      300_000,
    );
    expect(made.stderr + made.stdout).not.toMatch(/Permission denied/);
    expect(made.code, made.stderr).toBe(0);
    // --wait port:80 returned once the page answered through an ssh forward to the remote host's 127.0.0.1
    // (here, locally, the same port would answer too: sshd's log shows the wait went through it).
    expect(host.sshdLog()).toMatch(
      new RegExp(
        `direct_tcpip: originator 127\\.0\\.0\\.1 port \\d+, target 127\\.0\\.0\\.1 port ${guestPort}\\b`,
      ),
    );
    // ... and its ssh forward ended with it.
    expect(processesOf(user.uid, /^ssh$/).filter((p) => p.argv.includes('-L'))).toEqual([]);

    // libvirt over there has it, with every path the remote user's: the kernel and initrd uploaded into its pool.
    const xml = (await virsh(host.daemonUri, ['dumpxml', vm])).stdout;
    const paths = [...xml.matchAll(/(?:file|path|socket)='([^']+)'|<(?:kernel|initrd)>([^<]+)</g)].map(
      (m) => m[1] ?? m[2]!,
    );
    expect(paths.filter((p) => p.startsWith('/'))).not.toHaveLength(0);
    for (const p of paths.filter(
      (p) => p.startsWith('/') && !p.startsWith('/usr') && !p.startsWith('/dev'),
    )) {
      expect(p.startsWith(remote.home) || p.startsWith(remote.runtimeDir), p).toBe(true);
    }
    expect(xml).toContain(`${remote.home}/.local/share/roost/pool/${vm}.kernel`);
    // QEMU and passt run as the remote user, and nothing of the VM was written in the local user's home.
    expect(processesOf(remote.uid, /^qemu/).length).toBeGreaterThan(0);
    expect(processesOf(remote.uid, /^passt/).length).toBeGreaterThan(0);
    expect(filesNamed(join(user.home, '.local'), vm)).toEqual([]);

    // The forward listens on the remote host; from here it is reached through ssh -L.
    const local = await tunnelTo(guestPort);
    expect(await tinyPageAnswers(local, 180_000)).toBe(true);
  }, 420_000);

  it('roost ssh reaches a remote VM through its host: ssh -W as ProxyCommand, the jump a working login', async () => {
    const printed = await R(['ssh', vm, '--print', '--json']);
    expect(printed.code, printed.stderr).toBe(0);
    const { argv } = JSON.parse(printed.stdout) as { argv: string[] };
    expect(argv).toContain(`HostKeyAlias=${vm}.${REMOTE_NAME}-127.0.0.1-${port}.roost`);
    // The guest's sshd as the remote host sees it: its forward on that host's 127.0.0.1.
    expect(argv.slice(-3)).toEqual(['-l', 'root', '127.0.0.1']);
    expect(argv[argv.indexOf('-p') + 1]).toBe(String(sshPort));
    const proxy = argv.find((a) => a.startsWith('ProxyCommand='))!;
    expect(proxy).toBeDefined();
    // The ProxyCommand's words, as the shell reads them after ssh's %-expansion.
    const words = [...proxy.slice('ProxyCommand='.length).matchAll(/'((?:[^']|'\\'')*)'/g)].map((m) =>
      m[1]!.replaceAll("'\\''", "'").replaceAll('%%', '%'),
    );
    expect(words.slice(-4)).toEqual(['-W', `127.0.0.1:${sshPort}`, '--', '127.0.0.1']);
    expect(words).toEqual(expect.arrayContaining(['-p', String(port), '-l', REMOTE_NAME, '-i', key]));
    // The same jump, pointed at the page's forward instead of sshd's (the tiny guest has none): a real answer
    // through the real sshd proves the login, key, known_hosts and -W that roost ssh would use.
    words.splice(words.length - 3, 1, `127.0.0.1:${guestPort}`);
    const jump = spawnSync(words[0]!, words.slice(1), {
      ...spawnOptionsFor(user),
      input: 'GET / HTTP/1.0\r\n\r\n',
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(jump.stdout, jump.stderr).toMatch(/^HTTP\/1\.[01] 200/);
    expect(jump.stdout).toContain('roost tiny guest OK');
  }, 120_000);

  it('port ls prints the ssh line that brings each forward here, and that line works', async () => {
    const ls = await R(['port', 'ls', vm]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain(`these listen on the remote host ${REMOTE_NAME}@127.0.0.1:${port}`);
    const line = ls.stdout
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith(`ssh -N -L ${guestPort}:127.0.0.1:${guestPort} `));
    expect(line).toBeDefined();
    const argv = line!.split(' ');
    const [hostPort, addr] = argv[3]!.split(':');
    expect(argv.slice(-5)).toEqual(['-p', String(port), '-i', key, `${REMOTE_NAME}@127.0.0.1`]);
    // --json carries the same line as the forward's `tunnel`; the guest-22 forward has its own.
    const json = await R(['port', 'ls', vm, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const rows = (JSON.parse(json.stdout) as PortList).ports;
    expect(rows.find((r) => r.host === String(guestPort))?.tunnel).toBe(line);
    expect(rows.find((r) => r.host === String(sshPort))?.tunnel).toMatch(
      new RegExp(`^ssh -N -L ${sshPort}:127\\.0\\.0\\.1:${sshPort} `),
    );
    // Run as printed — but for the local port: here both "hosts" are one machine, where passt holds that port.
    const local = await freePort();
    argv[3] = `${local}:${addr}:${hostPort}`;
    const child = spawn(argv[0]!, ['-o', 'BatchMode=yes', ...argv.slice(1)], {
      ...spawnOptionsFor(user),
      stdio: 'ignore',
    });
    tunnels.push(child);
    expect(await waitUntil(() => tcpOpen(local), 10_000)).toBe(true);
    expect(await tinyPageAnswers(local, 60_000)).toBe(true);
    child.kill('SIGTERM');
  }, 120_000);

  it('reads the serial log back over the connection', async () => {
    const ok = await waitUntil(
      async () => (await R(['logs', vm])).stdout.includes(guest.readyMarker),
      60_000,
      1000,
    );
    expect(ok).toBe(true);
    const qemu = await R(['logs', '--qemu', vm]);
    expect(qemu.code).toBe(2);
    expect(qemu.stderr).toMatch(/on the remote host/);
  }, 120_000);

  it('adds a port on the remote VM', async () => {
    const extra = await freePort();
    const added = await R(['port', 'add', vm, `127.0.0.1:${extra}:80`, '--json'], 180_000);
    expect(added.code, added.stderr).toBe(0);
    // Recorded on the remote daemon (applied now, or at the next start where libvirt cannot change passt live).
    const xml = (await virsh(host.daemonUri, ['dumpxml', '--inactive', vm])).stdout;
    expect(xml).toMatch(new RegExp(`<range start=.${extra}.`));
    const ls = await R(['port', 'ls', vm, '--json']);
    expect(ls.stdout).toContain(`127.0.0.1:${extra}:80`);

    // A port a program of the remote user holds is refused, naming that host.
    const taken = await freePort();
    const holder = await listenAsRemote(taken);
    try {
      const busy = await R(['port', 'add', vm, `127.0.0.1:${taken}:81`]);
      expect(busy.code, busy.stderr).toBe(2);
      expect(busy.stderr).toContain(`of the remote host ${REMOTE_NAME}@127.0.0.1:${port} is already in use`);
    } finally {
      holder.kill('SIGTERM');
    }
  }, 300_000);

  it('rm leaves nothing on either side', async () => {
    const rm = await R(['rm', '--force', vm]);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await virsh(host.daemonUri, ['list', '--all', '--name'])).stdout).not.toContain(vm);
    const vols = (await virsh(host.daemonUri, ['vol-list', 'roost'], { check: false })).stdout;
    expect(vols).not.toContain(vm);
    expect(filesNamed(remote.home, vm)).toEqual([]);
    expect(filesNamed(remote.runtimeDir, vm)).toEqual([]);
    expect(filesNamed(user.home, vm).filter((p) => !p.startsWith(scope.dir))).toEqual([]);
  }, 120_000);

  it('creates from a local image: uploaded as the base of its disk there, the seed too; rm deletes both', async () => {
    const img = join(scope.dir, 'small.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', img, '64M']);
    chownSync(img, user.uid, user.gid);
    const name = scope.name('img');
    const made = await R(['create', name, '--image', img, '--no-start', '--memory', '256M'], 180_000);
    expect(made.code, made.stderr).toBe(0);
    const vols = (await virsh(host.daemonUri, ['vol-list', 'roost'])).stdout;
    for (const v of [`${name}.qcow2`, `${name}.base`, `${name}.seed.iso`]) expect(vols).toContain(v);
    const disk = (await virsh(host.daemonUri, ['vol-dumpxml', '--pool', 'roost', `${name}.qcow2`])).stdout;
    expect(disk).toContain(`${remote.home}/.local/share/roost/pool/${name}.base`);
    expect(filesNamed(join(user.home, '.local'), name)).toEqual([]);
    const rm = await R(['rm', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await virsh(host.daemonUri, ['vol-list', 'roost'])).stdout).not.toContain(name);
    expect(filesNamed(remote.home, name)).toEqual([]);
  }, 240_000);

  it('refuses --auto-ports and autostart for a remote VM (exit 2), before anything is made there or here', async () => {
    const img = join(scope.dir, 'auto-ports.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', img, '64M']);
    chownSync(img, user.uid, user.gid);
    const name = scope.name('ap');
    const made = await R(['create', name, '--image', img, '--auto-ports', '--no-start']);
    expect(made.code, made.stderr).toBe(2);
    expect(made.stderr).toMatch(/--auto-ports does not work for a VM on another host/);
    expect(made.stderr).toMatch(/ssh -N -L PORT:127\.0\.0\.1:PORT -p \d+ /);
    expect((await virsh(host.daemonUri, ['list', '--all', '--name'])).stdout).not.toContain(name);
    const vols = (await virsh(host.daemonUri, ['vol-list', 'roost'], { check: false })).stdout;
    expect(vols).not.toContain(name);
    const watch = await R(['port', 'watch', '--detach', name]);
    expect(watch.code, watch.stderr).toBe(2);
    expect(watch.stderr).toMatch(/--auto-ports does not work for a VM on another host/);
    expect(filesNamed(join(user.home, '.local'), name)).toEqual([]);

    // autostart is a systemd unit of this host's: on, off and ls all refuse another host's connection.
    for (const args of [['on', name], ['off', name], ['ls']]) {
      const r = await R(['autostart', ...args]);
      expect(r.code, `autostart ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/not of qemu\+ssh/);
    }
    expect(filesNamed(join(user.home, '.config', 'systemd'), name)).toEqual([]);
  }, 120_000);

  it('hosts add|ls|rm keep a private list; -H NAME connects through it; an unknown name exits 2', async () => {
    const add = await roost(user, ['hosts', 'add', 'lab', remoteUri]);
    expect(add.code, add.stderr).toBe(0);
    expect(statSync(hostsFile()).mode & 0o777).toBe(0o600);
    expect((await roost(user, ['hosts', 'add', 'lab', remoteUri])).code).toBe(2);
    expect((await roost(user, ['hosts', 'add', 'a/b', remoteUri])).code).toBe(2);
    const ls = await roost(user, ['hosts', 'ls', '--json']);
    expect(JSON.parse(ls.stdout)).toEqual([{ name: 'lab', uri: remoteUri }]);
    // -H lab reaches the remote daemon: what virsh lists there, roost lists.
    const there = await roost(user, ['-H', 'lab', 'connection', '--json']);
    expect(there.code, there.stderr).toBe(0);
    expect(JSON.parse(there.stdout).uri).toBe(remoteUri);
    const unknown = await roost(user, ['-H', 'nope', 'ls']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no host named 'nope'/);
    expect(unknown.stderr).toMatch(/known hosts: lab/);
    const doctor = await roost(user, ['doctor', '-H', 'lab', '--json'], { timeoutMs: 120_000 });
    expect(doctor.stdout.length, doctor.stderr).toBeGreaterThan(0);
    expect(JSON.parse(doctor.stdout).checks.length).toBeGreaterThan(0);
  }, 240_000);

  it('ls --all-hosts lists every host; one that is down is reported, not fatal (exit 1)', async () => {
    const dead = await freePort(); // nothing listens there
    const downUri = `qemu+ssh://${REMOTE_NAME}@127.0.0.1:${dead}/session?keyfile=${encodeURIComponent(key)}`;
    expect((await roost(user, ['hosts', 'add', 'down', downUri])).code).toBe(0);
    const started = Date.now();
    const r = await roost(user, ['ls', '--all-hosts', '--json', '--timeout', '20']);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.code, r.stderr).toBe(1);
    const rows = JSON.parse(r.stdout) as {
      host: string;
      vms: unknown[] | null;
      error: { message: string } | null;
    }[];
    expect(rows.map((x) => x.host)).toEqual(['local', 'lab', 'down']);
    expect(rows[0]!.error).toBeNull();
    expect(rows[1]!.error).toBeNull();
    expect(Array.isArray(rows[1]!.vms)).toBe(true);
    expect(rows[2]!.vms).toBeNull();
    expect(rows[2]!.error!.message).toMatch(/Connection refused|could not connect/);
    const text = await roost(user, ['ls', '--all-hosts']);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/host down: /);
    expect((await roost(user, ['hosts', 'rm', 'down'])).code).toBe(0);
    expect((await roost(user, ['hosts', 'rm', 'lab'])).code).toBe(0);
  }, 120_000);

  it('a changed host key is refused with what to do', async () => {
    host.trustHostKey('other_host_key');
    try {
      const r = await R(['ls']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/host key of 127\.0\.0\.1 is not the one in known_hosts/);
      expect(r.stderr).toMatch(/ssh-keygen -R/);
    } finally {
      host.trustHostKey('host_key');
    }
  }, 60_000);
});
