// roost rm through a fake daemon (libvirt/testing.ts): what it removes (the VM, its disk in roost's pool, its
// seed), what it keeps (a running VM without --force; disks with --keep-storage), and what a create cut short
// left. Interruptions and a daemon killed mid-rm are test/faults/rm.test.ts.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureQcow2 } from '../images/testing.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import { roostPaths } from '../paths.js';
import type { VmContext } from './context.js';
import { createVm, type CreateRequest } from './create.js';
import { removeVm } from './remove.js';

let dir: string;
let fake: FakeLibvirt;
let client: LibvirtClient;
let ctx: VmContext;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roost-rm-'));
  ({ fake, client } = await openFakeLibvirt());
  const env = { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'run') };
  ctx = { client, uri: 'qemu:///session', paths: roostPaths(env), env, close: () => client.close() };
  writeFileSync(join(dir, 'base.qcow2'), fixtureQcow2());
  writeFileSync(join(dir, 'key.pub'), `ssh-ed25519 ${Buffer.alloc(51, 7).toString('base64')} test\n`);
});

afterEach(async () => {
  await client.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

const web = (start: boolean): CreateRequest => ({
  name: 'web',
  image: join(dir, 'base.qcow2'),
  sshKey: join(dir, 'key.pub'),
  memory: '256M',
  accel: 'tcg',
  start,
});

describe('removeVm through a fake daemon', () => {
  it('removes a stopped VM, its disk and its seed; the base image stays', async () => {
    const made = await createVm(ctx, web(false));
    const result = await removeVm(ctx, 'web');
    expect(result).toEqual({ name: 'web', destroyed: false, deletedDisks: [made.disk], keptDisks: [] });
    expect(fake.domains.size).toBe(0);
    expect(fake.volumes.size).toBe(0);
    expect(existsSync(made.seed!)).toBe(false);
    expect(existsSync(join(dir, 'base.qcow2'))).toBe(true);
  });

  it('refuses a running VM without --force and changes nothing', async () => {
    await createVm(ctx, web(true));
    const err = (await removeVm(ctx, 'web').catch((e: unknown) => e)) as { code: string };
    expect(err.code).toBe('VM_RUNNING');
    expect(fake.domains.get('web')?.active).toBe(true);
    expect(fake.volumes.size).toBe(1);
    expect(fake.calls).not.toContain('DOMAIN_DESTROY_FLAGS');
  });

  it('--force powers a running VM off, then removes it', async () => {
    await createVm(ctx, web(true));
    const result = await removeVm(ctx, 'web', { force: true });
    expect(result.destroyed).toBe(true);
    expect(fake.domains.size).toBe(0);
    expect(fake.volumes.size).toBe(0);
  });

  it('--keep-storage keeps the disk and says so', async () => {
    const made = await createVm(ctx, web(false));
    const result = await removeVm(ctx, 'web', { keepStorage: true });
    expect(result.keptDisks).toEqual([made.disk]);
    expect(result.deletedDisks).toEqual([]);
    expect([...fake.volumes.keys()]).toEqual([made.disk]);
  });

  it('with no VM of the name, removes the disk a killed create left in the pool', async () => {
    const made = await createVm(ctx, web(false));
    fake.domains.clear();
    const result = await removeVm(ctx, 'web');
    expect(result.leftoversOnly).toBe(true);
    expect(result.deletedDisks).toContain(made.disk);
    expect(fake.volumes.size).toBe(0);
  });

  it('with nothing of the name, says there is no such VM (VM_NOT_FOUND)', async () => {
    const err = (await removeVm(ctx, 'ghost').catch((e: unknown) => e)) as { code: string };
    expect(err.code).toBe('VM_NOT_FOUND');
  });
});
