// Faults during `roost clone`, at exact step boundaries (the step hook, src/vm/steps.ts): Ctrl-C after the disk
// copy (before the seed) and after the clone was defined; for --linked also after the source's disk became the
// shared base (before the clone's overlay). After each: exit 130, the rollback names what it undid, the
// inventory of domains, volumes, files and processes equals the one before (the source is back on its own disk,
// no base left), and a retry works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScope, harness, roost, runAs, startSessionDaemon, virsh } from '../harness/index.js';
import {
  ensureDaemon,
  expectCleanMessage,
  inventory,
  runHooked,
  unbootedArgs,
  type Inventory,
} from './faults.js';

const { user, uri } = harness();
const scope = createScope('fclone', user, uri);
const src = scope.name('src');
let before: Inventory;

beforeAll(async () => {
  // A cloud-image source that never boots: clone goes through disk, seed and define.
  const made = await roost(user, ['create', src, ...unbootedArgs(user)]);
  expect(made.code, made.stderr).toBe(0);
  before = await inventory(user, uri);
});
afterAll(async () => {
  await ensureDaemon(user);
  await scope.cleanup();
  await startSessionDaemon(user);
});

describe('Ctrl-C during clone rolls back at the next step boundary', () => {
  it.each([
    ['seed', ['disk']],
    ['done', ["VM '", 'seed', 'disk']],
  ] as const)(
    'at clone:%s',
    async (step, undone) => {
      const name = scope.name(`int-${step}`);
      const run = runHooked(user, ['clone', src, name], `clone:${step}`);
      await run.marker(`paused before clone:${step}`);
      run.signal('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain('roost clone was interrupted (SIGINT)');
      const line = r.stderr.split('\n').find((l) => l.includes('rolled back:')) ?? '';
      for (const what of undone) expect(line, r.stderr).toContain(what);
      expect(r.stderr).toContain('nothing was left behind');
      expectCleanMessage(r.stderr);
      expect(await inventory(user, uri)).toEqual(before);

      const again = await roost(user, ['clone', src, name]);
      expect(again.code, again.stderr).toBe(0);
      const rm = await roost(user, ['rm', name]);
      expect(rm.code, rm.stderr).toBe(0);
      expect(await inventory(user, uri)).toEqual(before);
    },
    180_000,
  );
});

/** The source's disk and the file it is an overlay of. */
async function sourceDisk(): Promise<{ path: string; backing: string | undefined }> {
  const path = (await virsh(uri, ['vol-path', '--pool', 'roost', `${src}.qcow2`])).stdout.trim();
  const info = await runAs(user, 'qemu-img', ['info', '--output=json', '-U', path], { check: true });
  return { path, backing: (JSON.parse(info.stdout) as { 'backing-filename'?: string })['backing-filename'] };
}

describe('Ctrl-C during clone --linked puts the source back on its own disk', () => {
  it.each([
    ['disk', ['overlay', 'the move of']],
    ['done', ["VM '", 'seed', 'disk', 'overlay', 'the move of']],
  ] as const)(
    'at clone:%s',
    async (step, undone) => {
      const name = scope.name(`lnk-${step}`);
      // Each retry below leaves the source on a base of its own: compare with what there was just before.
      const start = await inventory(user, uri);
      const disk = await sourceDisk();
      const run = runHooked(user, ['clone', '--linked', src, name], `clone:${step}`);
      await run.marker(`paused before clone:${step}`);
      run.signal('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      const line = r.stderr.split('\n').find((l) => l.includes('rolled back:')) ?? '';
      for (const what of undone) expect(line, r.stderr).toContain(what);
      expect(r.stderr).toContain('nothing was left behind');
      expectCleanMessage(r.stderr);
      expect(await inventory(user, uri)).toEqual(start);
      // The source is on the disk it had, with the backing file it had, writable.
      expect(await sourceDisk()).toEqual(disk);
      const write = await runAs(user, 'test', ['-w', disk.path], { check: false });
      expect(write.code).toBe(0);

      const again = await roost(user, ['clone', '--linked', src, name]);
      expect(again.code, again.stderr).toBe(0);
      const rm = await roost(user, ['rm', name]);
      expect(rm.code, rm.stderr).toBe(0);
    },
    180_000,
  );
});
