// roost snapshot create|ls|revert|rm against the real session daemon and QEMU (tiny guest, TCG), both kinds:
// internal (BIOS, qcow2: roost's choice for the tiny guest) and external (forced with --kind; what UEFI VMs get).
// Disk state is checked byte for byte: with the VM shut off, a marker is written into its disk with qemu-io (as a
// guest would), the snapshot is reverted, and the marker is gone. A memory snapshot comes back running without a
// reboot. `roost rm` leaves no file of any snapshot in roost's pool.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  freePort,
  harness,
  roost,
  roostJson,
  runAs,
  tinyCreateArgs,
  tinyGuest,
  tinyPageAnswers,
  type RunResult,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('snap', user, uri);
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const pool = join(user.home, '.local', 'share', 'roost', 'pool');

interface Snap {
  name: string;
  kind: string;
  memory: boolean;
  current: boolean;
  parent: string | null;
  state: string | null;
}

async function makeVm(name: string): Promise<number> {
  const port = await freePort();
  const r = await roost(user, [
    'create',
    name,
    ...tinyCreateArgs(tinyGuest(user)),
    '--disk',
    '16M',
    '--port',
    `127.0.0.1:${port}:80`,
    '--wait',
    'none',
  ]);
  expect(r.code, text(r)).toBe(0);
  expect(await tinyPageAnswers(port, 180_000)).toBe(true);
  return port;
}

async function ok(args: string[]): Promise<RunResult> {
  const r = await roost(user, args);
  expect(r.code, `roost ${args.join(' ')}\n${text(r)}`).toBe(0);
  return r;
}

const snaps = async (vm: string) =>
  (await roostJson<{ snapshots: Snap[] }>(user, ['snapshot', 'ls', vm])).snapshots;

/** The VM's first writable disk as libvirt has it now (an external snapshot moves it to a new overlay). */
async function activeDisk(vm: string): Promise<string> {
  const r = await runAs(user, 'virsh', ['-c', uri, 'domblklist', vm, '--details'], { check: true });
  const line = r.stdout.split('\n').find((l) => /\sdisk\s+vda\s/.test(l));
  return line!.trim().split(/\s+/).at(-1)!;
}

/** qemu-io on the shut-off VM's disk, as the user: `write -P 0x5a` puts a marker, `read -P N` checks bytes. */
async function qemuIo(disk: string, command: string): Promise<RunResult> {
  return runAs(user, 'qemu-io', ['-f', 'qcow2', '-c', command, disk], { check: false });
}
const MARK = 'write -P 0x5a 1M 64k';
const HAS_MARK = 'read -P 0x5a 1M 64k';
const NO_MARK = 'read -P 0 1M 64k';
const verified = (r: RunResult) => r.code === 0 && !/Pattern verification failed/.test(r.stdout + r.stderr);

const poolFilesOf = (vm: string) =>
  readdirSync(pool).filter((f) => f === `${vm}.qcow2` || f.startsWith(`${vm}.`));

afterAll(() => scope.cleanup());

describe('internal snapshots (the tiny guest: BIOS, qcow2 disk)', () => {
  const vm = scope.name('int');
  let port: number;
  beforeAll(async () => {
    port = await makeVm(vm);
  }, 300_000);

  it('a running VM: with memory by default, chosen internal and said why; reverting gives it back running', async () => {
    const r = await ok(['snapshot', 'create', vm, 's1', '--description', 'first', '--json']);
    const s = JSON.parse(r.stdout) as Snap & { kindReason: string; description: string };
    expect(s).toMatchObject({
      name: 's1',
      kind: 'internal',
      memory: true,
      current: true,
      description: 'first',
    });
    expect(s.kindReason).toMatch(/BIOS/);
    const bootsBefore = (await ok(['logs', vm])).stdout.split('ROOST-TINY-READY').length;
    expect(bootsBefore).toBe(2); // booted once

    const back = JSON.parse((await ok(['snapshot', 'revert', vm, 's1', '--json'])).stdout) as {
      running: boolean;
    };
    expect(back.running).toBe(true);
    expect(await tinyPageAnswers(port, 30_000)).toBe(true);
    // The guest resumed where it was: no second boot in its serial log.
    expect((await ok(['logs', vm])).stdout.split('ROOST-TINY-READY').length).toBe(bootsBefore);
  }, 240_000);

  it('refuses clearly: a name in use, a bad name, an unknown snapshot or VM, a kind the VM cannot have', async () => {
    const dup = await roost(user, ['snapshot', 'create', vm, 's1']);
    expect(dup.code, text(dup)).toBe(2);
    expect(dup.stderr).toContain(`already has a snapshot 's1'`);
    const bad = await roost(user, ['snapshot', 'create', vm, '../x']);
    expect(bad.code, text(bad)).toBe(2);
    expect(bad.stderr).toMatch(/invalid snapshot name/);
    const none = await roost(user, ['snapshot', 'revert', vm, 'nope']);
    expect(none.code, text(none)).toBe(1);
    expect(none.stderr).toContain(`has no snapshot 'nope'`);
    const ghost = await roost(user, ['snapshot', 'ls', scope.name('ghost')]);
    expect(ghost.code, text(ghost)).toBe(1);
    expect(ghost.stderr).toMatch(/no VM named/);
    const ext = await roost(user, ['snapshot', 'create', vm, 'e1', '--kind', 'external']);
    expect(ext.code, text(ext)).toBe(2);
    expect(ext.stderr).toMatch(/already has internal ones/);
    expect((await snaps(vm)).map((s) => s.name)).toEqual(['s1']);
  });

  it('a shut-off VM: the disk comes back byte for byte', async () => {
    await ok(['stop', '--force', vm]);
    await ok(['snapshot', 'create', vm, 'off']);
    const disk = await activeDisk(vm);
    expect(verified(await qemuIo(disk, MARK))).toBe(true);
    expect(verified(await qemuIo(disk, HAS_MARK))).toBe(true);
    await ok(['snapshot', 'revert', vm, 'off']);
    expect(verified(await qemuIo(await activeDisk(vm), NO_MARK))).toBe(true);
  }, 120_000);

  it('rm removes the VM with its snapshots: nothing of it stays in the pool', async () => {
    await ok(['rm', '--force', vm]);
    expect(poolFilesOf(vm)).toEqual([]);
  });
});

describe('external snapshots (overlays and memory files in roost pool)', () => {
  const vm = scope.name('ext');
  let port: number;
  beforeAll(async () => {
    port = await makeVm(vm);
  }, 300_000);

  it('a chain s1 ← s2 ← s3: files in the pool, a middle snapshot removed, revert with memory runs on', async () => {
    const s1 = JSON.parse(
      (await ok(['snapshot', 'create', vm, 's1', '--kind', 'external', '--json'])).stdout,
    ) as Snap;
    expect(s1).toMatchObject({ kind: 'external', memory: true });
    expect(poolFilesOf(vm)).toEqual(expect.arrayContaining([`${vm}.s1.mem`, `${vm}.s1.vda.qcow2`]));
    await ok(['snapshot', 'create', vm, 's2']); // the VM keeps its kind: external without --kind
    const s3 = JSON.parse(
      (await ok(['snapshot', 'create', vm, 's3', '--disk-only', '--json'])).stdout,
    ) as Snap;
    expect(s3).toMatchObject({ kind: 'external', memory: false, parent: 's2' });

    await ok(['snapshot', 'rm', vm, 's2']);
    const left = await snaps(vm);
    expect(left.map((s) => s.name)).toEqual(['s1', 's3']);
    expect(left.find((s) => s.name === 's3')!.parent).toBe('s1');
    expect(poolFilesOf(vm).some((f) => f.startsWith(`${vm}.s2.`))).toBe(false);

    const back = JSON.parse((await ok(['snapshot', 'revert', vm, 's1', '--json'])).stdout) as {
      running: boolean;
    };
    expect(back.running).toBe(true);
    expect(await tinyPageAnswers(port, 30_000)).toBe(true);
    expect((await snaps(vm)).find((s) => s.current)!.name).toBe('s1');
  }, 240_000);

  it('the current snapshot with later ones on it cannot be removed, and the message says what to do', async () => {
    const r = await roost(user, ['snapshot', 'rm', vm, 's1']);
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toMatch(/later snapshots build on it/);
    expect(r.stderr).toMatch(/fix: revert to another snapshot first/);
  });

  it('a shut-off VM: the marker written after the snapshot is gone after revert', async () => {
    await ok(['stop', '--force', vm]);
    await ok(['snapshot', 'create', vm, 'off']);
    const disk = await activeDisk(vm);
    expect(disk).toBe(join(pool, `${vm}.off.vda.qcow2`));
    expect(verified(await qemuIo(disk, MARK))).toBe(true);
    await ok(['snapshot', 'revert', vm, 'off']);
    expect(verified(await qemuIo(await activeDisk(vm), NO_MARK))).toBe(true);
  }, 120_000);

  it('rm removes every overlay and memory file of every snapshot', async () => {
    expect(poolFilesOf(vm).length).toBeGreaterThan(3);
    const r = JSON.parse((await ok(['rm', '--force', vm, '--json'])).stdout) as { deletedDisks: string[] };
    expect(r.deletedDisks).toEqual(
      expect.arrayContaining([join(pool, `${vm}.s1.mem`), join(pool, `${vm}.qcow2`)]),
    );
    expect(poolFilesOf(vm)).toEqual([]);
    const vols = await runAs(user, 'virsh', ['-c', uri, 'vol-list', 'roost'], { check: true });
    expect(vols.stdout).not.toContain(vm);
  });
});
