// The core user journey through the built `roost` CLI, run as the unprivileged test user with the default
// connection (qemu:///session): create → running → page through the forwarded port → console → stop → start →
// rm, leaving no domain, volume or file. The base image is never written.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roostPaths } from '../../src/paths.js';
import { openContext, type VmContext } from '../../src/vm/context.js';
import { attachConsole } from '../../src/vm/console.js';
import { createDisk, deleteVolumeAt, ensurePool } from '../../src/vm/storage.js';
import {
  createScope,
  domainNames,
  freePort,
  harness,
  httpGet,
  roost,
  roostJson,
  runAs,
  tinyGuest,
  tinyCreateArgs,
  userEnv,
  volumeNames,
  waitUntil,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('cli', user, uri);
const paths = roostPaths(userEnv(user));
const guest = tinyGuest(user);
const bootArgs = tinyCreateArgs(guest);
let base: string;
let baseHash: string;
let ctx: VmContext;

/** A VM from the blank 64M image under the tiny guest's kernel: no cloud-init to seed (so no ssh forward added). */
const blankImageArgs = (port: number) => [
  '--image',
  base,
  '--no-cloud-init',
  ...bootArgs,
  '--disk',
  '64M',
  '--port',
  `127.0.0.1:${port}:80`,
];
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const poolFiles = () => (existsSync(paths.pool) ? readdirSync(paths.pool).sort() : []);

beforeAll(async () => {
  base = join(scope.dir, 'base.qcow2');
  await runAs(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', base, '32M']);
  baseHash = sha256(base);
  ctx = await openContext({ uri });
});
afterAll(async () => {
  await ctx?.close();
  await scope.cleanup();
});

describe('roost create → stop → start → rm', () => {
  const name = scope.name('vm');
  let port: number;

  it('creates and starts a VM whose page answers through its forward, with a CoW overlay on the image', async () => {
    port = await freePort();
    const mtimeBefore = statSync(base).mtimeMs;
    const r = await roostJson<{ state: string; disk: string; ports: string[] }>(user, [
      'create',
      name,
      ...blankImageArgs(port),
      '--wait',
      'port:80',
    ]);
    expect(r.state).toBe('running');
    expect(r.ports).toEqual([`127.0.0.1:${port}:80/tcp`]);
    expect(r.disk).toBe(join(paths.pool, `${name}.qcow2`));
    // --wait port:80 returned only once the guest answered: the page is there now, no retry needed.
    expect((await httpGet(port)).body).toContain('roost tiny guest OK');

    const info = JSON.parse((await runAs(user, 'qemu-img', ['info', '-U', '--output=json', r.disk])).stdout);
    expect(info['backing-filename']).toBe(base);
    expect(info['virtual-size']).toBe(64 * 1024 ** 2);
    expect(statSync(r.disk).size).toBeLessThan(1024 ** 2); // an overlay, not a copy
    expect(statSync(r.disk).mode & 0o777).toBe(0o600);
    expect(await volumeNames(uri, 'roost')).toContain(`${name}.qcow2`);
    expect(statSync(base).mtimeMs).toBe(mtimeBefore);
  });

  it('lists and describes it', async () => {
    const ls = await roostJson<{ name: string; state: string; ports: string[]; managedBy: string }[]>(user, [
      'ls',
    ]);
    expect(ls.find((v) => v.name === name)).toMatchObject({
      state: 'running',
      managedBy: 'roost',
      ports: [`127.0.0.1:${port}:80/tcp`],
    });
    const info = await roostJson<{
      disks: { path: string }[];
      serialLog: string;
      roost: { createdBy: string };
    }>(user, ['info', name]);
    expect(info.disks.map((d) => d.path)).toContain(join(paths.pool, `${name}.qcow2`));
    expect(info.roost.createdBy).toMatch(/^roost /);
    expect(info.serialLog).toBe(join(paths.logs, `${name}.serial.log`));
    const human = await roost(user, ['ls']);
    expect(human.stdout).toMatch(new RegExp(`^${name}\\s+running\\s+1\\s+256M`, 'm'));
  });

  it('shows the serial log and attaches to the serial console', async () => {
    const logs = await roost(user, ['logs', name]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain(guest.readyMarker);
    const json = await roostJson<{ name: string; kind: string; path: string; text: string }>(user, [
      'logs',
      name,
    ]);
    expect(json).toMatchObject({ name, kind: 'serial', path: join(paths.logs, `${name}.serial.log`) });
    expect(json.text).toContain(guest.readyMarker);
    // The daemon kept roost's CPU-probe override and applied it (libvirt logs it as a taint): the start that
    // skips a QMP round trip per CPU property (src/domain-xml/quick-cpu-probe.ts).
    const qemuLog = await roostJson<{ kind: string; text: string }>(user, ['logs', name, '--qemu']);
    expect(qemuLog.kind).toBe('qemu');
    expect(qemuLog.text).toMatch(/tainted: custom-hypervisor-feature/);
    expect((await ctx.client.getXml(await ctx.client.lookupDomain(name))).replace(/\s+/g, ' ')).toContain(
      "<qemu:capabilities> <qemu:del capability='cpu-unavailable-features'/> </qemu:capabilities>",
    );

    const input = new PassThrough();
    const output = new PassThrough();
    let seen = '';
    output.on('data', (b: Buffer) => (seen += b.toString('utf8')));
    const attached = attachConsole(ctx, name, { input, output });
    const token = `roost-console-${process.pid}`;
    input.write(`echo ${token}-$((40+2))\n`);
    expect(await waitUntil(() => seen.includes(`${token}-42`), 20_000)).toBe(true);
    input.write(Buffer.from([0x1d])); // Ctrl-]
    expect(await attached).toBe('escape');
  });

  it('refuses to remove a running VM without --force, and stops it with ACPI', async () => {
    const rm = await roost(user, ['rm', name]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/is running; it was not removed/);
    expect(await domainNames(uri)).toContain(name);

    const stop = await roost(user, ['stop', name, '--timeout', '90']);
    expect(stop.stderr).toBe('');
    expect(stop.code).toBe(0);
    expect((await roostJson<{ state: string }>(user, ['info', name])).state).toBe('shutoff');
  });

  it('starts again with --wait port:80, and serves its page as soon as start returns', async () => {
    const r = await roostJson<{ name: string; alreadyRunning: boolean; waitedMs: number }>(
      user,
      ['start', name, '--wait', 'port:80', '--wait-timeout', '120'],
      { timeoutMs: 150_000 },
    );
    expect(r).toMatchObject({ name, alreadyRunning: false });
    expect(r.waitedMs).toBeGreaterThan(0);
    // One request, no polling: --wait already waited for the guest's HTTP server.
    expect((await httpGet(port)).body).toContain('roost tiny guest OK');
  });

  it('start --wait on a running VM: says so, and shows the wait as a phase with its time', async () => {
    const r = await roost(user, ['start', name, '--wait', 'port:80']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${name} was already running; ready after \\d+\\.\\d s`));
    expect(r.stderr).toMatch(/✓ waiting for guest port 80 \(\d+\.\d s\)/);
  });

  it('removes everything it made and nothing else', async () => {
    const r = await roostJson<{ deletedDisks: string[] }>(user, ['rm', '--force', name]);
    expect(r.deletedDisks).toEqual([join(paths.pool, `${name}.qcow2`)]);
    expect(await domainNames(uri)).not.toContain(name);
    expect(await volumeNames(uri, 'roost')).not.toContain(`${name}.qcow2`);
    expect(poolFiles().filter((f) => f.includes(name))).toEqual([]);
    expect(existsSync(join(paths.logs, `${name}.serial.log`))).toBe(false);
    expect(sha256(base)).toBe(baseHash);
  });
});

describe('bad input: exit 2, one clear message, nothing changed', () => {
  const other = scope.name('other');
  let otherPort: number;

  beforeAll(async () => {
    otherPort = await freePort();
    const r = await roost(user, ['create', other, ...bootArgs, '--port', `${otherPort}:80`, '--no-start']);
    expect(r.code, r.stderr).toBe(0);
  });

  async function refused(args: string[], message: RegExp): Promise<void> {
    const domsBefore = await domainNames(uri);
    const volsBefore = await volumeNames(uri, 'roost');
    const filesBefore = poolFiles();
    const r = await roost(user, args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2); // what failed, then the fix
    expect(r.stdout).toBe('');
    expect(await domainNames(uri)).toEqual(domsBefore);
    expect(await volumeNames(uri, 'roost')).toEqual(volsBefore);
    expect(poolFiles()).toEqual(filesBefore);
  }

  const n = scope.name('bad');
  it('a name with a space', () => refused(['create', 'bad name', ...bootArgs], /invalid VM name 'bad name'/));
  it('a name taken by another VM', () =>
    refused(['create', other, ...bootArgs], /a VM named '.*' already exists/));
  it('a memory size that is not a size', () =>
    refused(['create', n, ...bootArgs, '--memory', '2X'], /invalid memory size '2X'/));
  it('zero CPUs', () => refused(['create', n, ...bootArgs, '--cpus', '0'], /invalid CPU count '0'/));
  it('a port outside 1–65535', () =>
    refused(['create', n, ...bootArgs, '--port', '70000:80'], /port 70000 is outside 1–65535/));
  it('a privileged host port (the test user is not root)', () =>
    refused(
      ['create', n, ...bootArgs, '--port', '80:80'],
      /ports below 1024 need root, and passt runs as you/,
    ));
  it('a host port another program listens on', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const busy = (srv.address() as { port: number }).port;
    try {
      await refused(
        ['create', n, ...bootArgs, '--port', `${busy}:80`],
        new RegExp(`host port ${busy}/tcp .* already in use`),
      );
    } finally {
      srv.close();
    }
  });
  it('a host port another VM forwards', () =>
    refused(
      ['create', n, ...bootArgs, '--port', `${otherPort}:8080`],
      new RegExp(`already forwarded to VM '${other}'`),
    ));
  it('an image that does not exist', () =>
    refused(
      ['create', n, '--image', '/nonexistent/x.qcow2'],
      /image '\/nonexistent\/x.qcow2' does not exist/,
    ));
  it('nothing to boot', () => refused(['create', n], /nothing to boot/));
  it('a disk smaller than the image', () =>
    refused(['create', n, '--image', base, '--disk', '1M'], /smaller than the image/));
  it('waiting on a port that is not forwarded', () =>
    refused(
      ['create', n, ...bootArgs, '--port', `${otherPort + 1}:80`, '--wait', 'port:22'],
      /guest port 22 is not forwarded/,
    ));
  it('a --wait-timeout that is not whole seconds', () =>
    refused(
      ['create', n, ...bootArgs, '--wait', 'none', '--wait-timeout', 'soon'],
      /invalid timeout 'soon'/,
    ));
  it('starting with --wait on a port that is not forwarded (the VM stays off)', async () => {
    await refused(['start', other, '--wait', 'port:22'], /guest port 22 is not forwarded/);
    expect((await roostJson<{ state: string }>(user, ['info', other])).state).toBe('shutoff');
  });
  it('an unknown --wait', () => refused(['start', other, '--wait', 'soon'], /invalid --wait 'soon'/));
  it('an unknown --network', () =>
    refused(['create', n, ...bootArgs, '--network', 'wifi'], /invalid --network 'wifi'/));
  it('the same --network twice', () =>
    refused(
      ['create', n, ...bootArgs, '--network', 'user', '--network', 'user'],
      /--network user is given twice/,
    ));
  it('--port with only a bridge NIC', () =>
    refused(
      ['create', n, ...bootArgs, '--network', 'bridge=virbr0', '--port', '18099:80'],
      /--port needs user networking \(passt\)/,
    ));
  it('an unknown option', () => refused(['create', n, '--bogus'], /unknown option '--bogus'/));
  it('logs --follow with --json', () => refused(['logs', other, '-f', '--json'], /use it without --json/));
  it('an unknown option to a nested command (port add, host bridge-setup)', async () => {
    await refused(['port', 'add', other, '--bogus'], /unknown option '--bogus'/);
    await refused(['host', 'bridge-setup', '--bogus'], /unknown option '--bogus'/);
  });
  it('a VM that does not exist, with a hint that is a command that works', async () => {
    const r = await roost(user, ['info', scope.name('nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no VM named '.*-nope'/);
    const hint = /list them with: roost (.+)$/m.exec(r.stderr);
    expect(hint, r.stderr).not.toBeNull();
    expect((await roost(user, hint![1]!.trim().split(' '))).code).toBe(0);
  });
});

describe('--auto-ports: start and restart start its watcher', () => {
  const name = scope.name('autoports');
  const log = join(paths.logs, `${name}.auto-ports.log`);
  // This VM has no ssh route (no seed, no forward to 22): each watcher says so in its log and exits. What is
  // checked is that `start` and `restart` each started one.
  const refusals = () =>
    existsSync(log) ? readFileSync(log, 'utf8').split(`VM '${name}' has no way in for ssh`).length - 1 : 0;

  afterAll(() => roost(user, ['rm', '--force', name]));

  it('start, then restart, each start a watcher for the VM', async () => {
    const port = await freePort();
    const made = await roost(user, ['create', name, ...blankImageArgs(port), '--auto-ports', '--no-start']);
    expect(made.code, made.stderr).toBe(0);
    expect(refusals()).toBe(0);
    expect((await roost(user, ['start', name])).code).toBe(0);
    expect(await waitUntil(() => refusals() === 1, 30_000, 200)).toBe(true);
    const restarted = await roost(user, ['restart', '--force', name]);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(await waitUntil(() => refusals() === 2, 30_000, 200)).toBe(true);
  }, 120_000);
});

describe('a guest that does not get ready: the wait fails with the end of its serial console', () => {
  const name = scope.name('notready');
  const serialLog = join(paths.logs, `${name}.serial.log`);
  const markers = () =>
    existsSync(serialLog) ? readFileSync(serialLog, 'utf8').split(guest.readyMarker).length - 1 : 0;

  afterAll(() => roost(user, ['rm', '--force', name]));

  it('times out waiting for a port nothing in the guest listens on', async () => {
    const port = await freePort();
    // Guest port 81: forwarded, but the tiny guest serves only 80 and 7.
    const made = await roost(user, ['create', name, ...bootArgs, '--port', `127.0.0.1:${port}:81`]);
    expect(made.code, made.stderr).toBe(0);
    // Booted before the wait begins, however slow the host: the wait below then times out on the port alone, and
    // its serial console has something to show.
    expect(await waitUntil(() => markers() > 0, 120_000, 250)).toBe(true);
    const r = await roost(user, ['start', name, '--wait', 'port:81', '--wait-timeout', '5']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/✗ waiting for guest port 81 \(\d+\.\d s\)/);
    expect(r.stderr).toMatch(/guest port 81 did not answer on 127\.0\.0\.1:\d+ within 5 s/);
    expect(r.stderr).toContain(`the end of its serial console (${serialLog}):`);
    // It booted: the console says so, and the user sees it without running roost logs.
    expect(r.stderr).toMatch(new RegExp(`\\| .*${guest.readyMarker}`));
    expect((await roostJson<{ state: string }>(user, ['info', name])).state).toBe('running');
  }, 240_000);

  it('ends the wait as soon as the VM stops, instead of at the timeout', async () => {
    const stopped = await roost(user, ['stop', '--force', name]);
    expect(stopped.code, stopped.stderr).toBe(0);
    const before = markers();
    const waiting = roost(user, ['start', name, '--wait', 'port:81', '--wait-timeout', '600', '--json'], {
      timeoutMs: 300_000,
    });
    // Powered off once it has booted (and printed its marker again), while `start` still waits.
    expect(await waitUntil(() => markers() > before, 120_000, 250)).toBe(true);
    expect((await roost(user, ['stop', '--force', name])).code).toBe(0);
    const stoppedAt = Date.now();
    const r = await waiting;
    expect(r.code, r.stderr).toBe(1);
    // The state is polled every 2 s: the wait ends within seconds of the power-off, not after 600 s.
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    const err = (
      JSON.parse(r.stderr.trim().split('\n').pop()!) as {
        error: { code: string; message: string; detail: string };
      }
    ).error;
    expect(err.code).toBe('VM_STOPPED_WHILE_WAITING');
    // Seen as it goes down ('shutdown') or once it is off ('shutoff'), depending on when the poll lands.
    expect(err.message).toMatch(/stopped before it was ready \((shutdown|shutoff)\)/);
    expect(err.detail).toContain(guest.readyMarker);
  }, 320_000);
});

describe('a failure part way rolls back', () => {
  it('a VM that cannot start leaves no definition and no disk behind', async () => {
    const name = scope.name('rollback');
    // Defining succeeds; starting fails (no such bridge, and the helper is not set up): the overlay and the
    // definition made before must both go.
    const r = await roost(user, [
      'create',
      name,
      ...bootArgs,
      '--disk',
      '16M',
      '--network',
      'bridge=rtnobr0',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(await domainNames(uri)).not.toContain(name);
    expect(await volumeNames(uri, 'roost')).not.toContain(`${name}.qcow2`);
    expect(poolFiles().filter((f) => f.includes(name))).toEqual([]);
  });

  it('a disk libvirt cannot make leaves no definition, and a volume of that name that was there stays', async () => {
    const name = scope.name('volclash');
    // The pool already holds a volume of the disk's name: libvirt refuses the new one while (since the disk is
    // made as the VM is defined) the definition may already exist; it must go, and the volume must stay.
    const { pool, dir } = await ensurePool(ctx.client, paths);
    const { path } = await createDisk(ctx.client, pool, {
      name: `${name}.qcow2`,
      capacityBytes: 1024 * 1024,
    });
    expect(path).toBe(join(dir, `${name}.qcow2`));
    try {
      const r = await roost(user, ['create', name, ...blankImageArgs(await freePort())]);
      // The disk's name is the VM name's claim (two creates of one name race for it): "already exists", exit 2.
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/already exists/i);
      expect(r.stderr).not.toContain('rolled back: disk');
      expect(await domainNames(uri)).not.toContain(name);
      expect(await volumeNames(uri, 'roost')).toContain(`${name}.qcow2`);
    } finally {
      await deleteVolumeAt(ctx.client, path);
    }
  });
});
