// createVm through a fake session daemon (libvirt/testing.ts): every step that fails, or is interrupted, leaves
// nothing behind — the rollback removes exactly what the earlier steps made, last first — and a refused request
// changes nothing. The same paths against a real daemon, as the user's Ctrl-C and a killed daemon, are
// test/faults/create.test.ts.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureQcow2 } from '../images/testing.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { FakeLibvirtError, openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import { roostPaths } from '../paths.js';
import type { VmContext } from './context.js';
import { createVm, type CreateRequest } from './create.js';
import { rollbackOf } from './rollback.js';

const VIR_ERR_INTERNAL_ERROR = 1;
let dir: string;
let fake: FakeLibvirt;
let client: LibvirtClient;
let ctx: VmContext;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roost-create-'));
  ({ fake, client } = await openFakeLibvirt());
  const env = { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'run') };
  ctx = { client, uri: 'qemu:///session', paths: roostPaths(env), env, close: () => client.close() };
  writeFileSync(join(dir, 'base.qcow2'), fixtureQcow2());
  writeFileSync(join(dir, 'vmlinuz'), 'kernel');
  writeFileSync(join(dir, 'key.pub'), `ssh-ed25519 ${Buffer.alloc(51, 7).toString('base64')} test\n`);
});

afterEach(async () => {
  await client.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** A cloud-image VM: a disk over the image, a seed, a passt NIC with an ssh forward. */
const imageVm = (): CreateRequest => ({
  name: 'web',
  image: join(dir, 'base.qcow2'),
  sshKey: join(dir, 'key.pub'),
  memory: '256M',
  cpus: '1',
  accel: 'tcg',
});

/** Fails the first call of this procedure as the daemon would refuse it. */
function refuse(procedure: string, message = `internal error: ${procedure} refused`): void {
  fake.before = (name) => {
    if (name === procedure) throw new FakeLibvirtError(VIR_ERR_INTERNAL_ERROR, message);
  };
}

async function failedCreate(
  req: CreateRequest,
  control = {},
  onPhase: (p: string) => unknown = () => {},
): Promise<Error & { code?: string }> {
  const err = await createVm(ctx, req, onPhase, control).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (err === undefined) throw new Error('createVm succeeded');
  return err;
}

const seedPath = () => join(ctx.paths.data, 'seeds', 'web.iso');
const seedsLeft = () =>
  existsSync(join(ctx.paths.data, 'seeds')) ? readdirSync(join(ctx.paths.data, 'seeds')) : [];

describe('createVm through a fake daemon', () => {
  it('makes the disk over the image, the seed, the VM, and starts it', async () => {
    const result = await createVm(ctx, imageVm());
    expect(result.started).toBe(true);
    expect([...fake.domains.keys()]).toEqual(['web']);
    expect(fake.domains.get('web')!.active).toBe(true);
    expect([...fake.volumes.keys()]).toEqual([join(ctx.paths.pool, 'web.qcow2')]);
    expect(fake.volumes.get(result.disk!)!.xml).toContain(join(dir, 'base.qcow2'));
    expect(result.seed).toBe(seedPath());
    expect(seedsLeft()).toEqual(['web.iso']);
    expect(result.addedPorts.map((p) => p.guestStart)).toEqual([22]);
  });

  it.each([
    // [the call that fails, what is rolled back (last made first)]. The disk is made while the seed is
    // written: its failure surfaces at the define step, after the seed.
    ['STORAGE_VOL_CREATE_XML', ['seed']],
    ['DOMAIN_DEFINE_XML_FLAGS', ['seed', 'disk']],
    ['DOMAIN_CREATE_WITH_FLAGS', ['VM', 'seed', 'disk']],
  ])('%s refused: the rollback removes %j, in that order', async (procedure, undone) => {
    refuse(procedure);
    const err = await failedCreate(imageVm());
    expect(err.message).toContain(`${procedure} refused`);
    expect(rollbackOf(err)?.undone.map(kind)).toEqual(undone);
    expect(rollbackOf(err)?.left).toEqual([]);
    expectNothingLeft();
  });

  it.each([
    // [the phase at which the user interrupts, what is rolled back at that step's boundary]
    ['disk', []],
    ['seed', ['disk']],
    ['defining', ['seed', 'disk']],
    ['starting', ['VM', 'seed', 'disk']],
  ])('interrupted before the %s step: stops there and removes %j', async (phase, undone) => {
    const interrupt = new AbortController();
    const onPhase = (p: string) => p === phase && interrupt.abort('SIGINT');
    const err = await failedCreate(imageVm(), { signal: interrupt.signal }, onPhase);
    expect(err.code).toBe('INTERRUPTED');
    expect(rollbackOf(err)?.undone.map(kind) ?? []).toEqual(undone);
    expectNothingLeft();
  });

  it.each([
    // [the call during which the user interrupts: it finishes, and the next boundary rolls back]
    ['DOMAIN_DEFINE_XML_FLAGS', ['VM', 'seed', 'disk']],
    ['DOMAIN_CREATE_WITH_FLAGS', ['running VM', 'VM', 'seed', 'disk']],
  ])('interrupted during %s: the call finishes, then %j are removed', async (procedure, undone) => {
    const interrupt = new AbortController();
    fake.before = (name) => {
      if (name === procedure) interrupt.abort('SIGTERM');
    };
    const err = await failedCreate(imageVm(), { signal: interrupt.signal });
    expect(err.code).toBe('INTERRUPTED');
    expect(err.message).toContain('SIGTERM');
    expect(rollbackOf(err)?.undone.map(kind)).toEqual(undone);
    expectNothingLeft();
  });

  it('a failing undo is reported as left, with the command that removes it, and the others still run', async () => {
    fake.before = (name) => {
      if (name === 'DOMAIN_CREATE_WITH_FLAGS') throw new FakeLibvirtError(VIR_ERR_INTERNAL_ERROR, 'no start');
      if (name === 'STORAGE_VOL_DELETE') throw new FakeLibvirtError(VIR_ERR_INTERNAL_ERROR, 'volume busy');
    };
    const err = await failedCreate(imageVm());
    const report = rollbackOf(err)!;
    expect(report.undone.map(kind)).toEqual(['VM', 'seed']);
    expect(report.left).toEqual([
      {
        what: `disk ${join(ctx.paths.pool, 'web.qcow2')}`,
        fix: 'roost rm --force web',
        why: expect.stringContaining('volume busy'),
      },
    ]);
    expect(fake.domains.size).toBe(0);
    expect(fake.volumes.size).toBe(1);
  });

  it('a kernel VM without a disk makes only the VM: a refused start undefines it', async () => {
    refuse('DOMAIN_CREATE_WITH_FLAGS');
    const err = await failedCreate({ name: 'k', kernel: join(dir, 'vmlinuz'), memory: '64M', accel: 'tcg' });
    expect(rollbackOf(err)?.undone).toEqual(["VM 'k'"]);
    expect(fake.domains.size).toBe(0);
    expect(fake.calls).not.toContain('STORAGE_VOL_CREATE_XML');
  });

  it('a taken name is refused before anything is made (NAME_TAKEN), leaving the other VM alone', async () => {
    await createVm(ctx, {
      name: 'web',
      kernel: join(dir, 'vmlinuz'),
      memory: '64M',
      accel: 'tcg',
      start: false,
    });
    const calls = fake.calls.length;
    const err = await failedCreate(imageVm());
    expect(err.code).toBe('NAME_TAKEN');
    expect(rollbackOf(err)).toBeUndefined();
    expect(fake.calls.slice(calls)).not.toContain('STORAGE_VOL_CREATE_XML');
    expect([...fake.domains.keys()]).toEqual(['web']);
    expect(fake.volumes.size).toBe(0);
    expect(seedsLeft()).toEqual([]);
  });

  it('a disk name held by a leftover volume is NAME_TAKEN, and the leftover is not deleted', async () => {
    await createVm(ctx, { ...imageVm(), start: false });
    fake.domains.clear(); // the VM went, its disk stayed (someone undefined it by hand)
    const err = await failedCreate(imageVm());
    expect(err.code).toBe('NAME_TAKEN');
    expect(err.message).toContain('its disk web.qcow2 is in roost');
    expect(fake.volumes.size).toBe(1);
  });

  it('a daemon error while checking the name is passed on, and nothing is made', async () => {
    refuse('DOMAIN_LOOKUP_BY_NAME', 'internal error: lookup broke');
    const err = await failedCreate(imageVm());
    expect(err.message).toContain('lookup broke');
    expect(rollbackOf(err)).toBeUndefined();
    expect(fake.calls).not.toContain('STORAGE_VOL_CREATE_XML');
    expectNothingLeft();
  });
});

/** The kind of thing an undo names ("disk /…", "seed /…", "VM 'web'", "the running VM 'web'"). */
function kind(what: string): string {
  if (what.startsWith('the running VM')) return 'running VM';
  return what.split(' ')[0]!;
}

function expectNothingLeft(): void {
  expect(fake.domains.size).toBe(0);
  expect(fake.volumes.size).toBe(0);
  expect(seedsLeft()).toEqual([]);
}
