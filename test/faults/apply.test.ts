// Ctrl-C during `roost apply` of a file with two VMs, at exact step boundaries of their creates (the step hook,
// src/vm/steps.ts; apply creates them at once): each VM ends fully made (created, started, recorded as applied
// from the file) or absent with nothing of it left — never half made — and apply run again completes the file.
//  - at create:seed only the VM with an image and cloud-init pauses; the other (a direct kernel, no seed) is
//    made meanwhile, then Ctrl-C: that one stays, the paused one is rolled back.
//  - at create:define both pause: Ctrl-C rolls both back, and the inventory equals the one before.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  domainNames,
  harness,
  roost,
  runAs,
  startSessionDaemon,
  tinyGuest,
  virsh,
  type RunResult,
} from '../harness/index.js';
import {
  ensureDaemon,
  expectCleanMessage,
  inventory,
  runHooked,
  type HookedRun,
  type Inventory,
} from './faults.js';

const { user, uri } = harness();
const scope = createScope('fapply', user, uri);
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
let base: string;
let before: Inventory;

/** A file of two VMs: SEEDED boots the tiny kernel over an image with cloud-init; PLAIN the kernel alone. */
function vmFile(seeded: string, plain: string): string {
  const g = tinyGuest(user);
  const kernel = `kernel: {path: ${g.kernel}, initrd: ${g.initrd}, cmdline: "${g.cmdline}"}`;
  const file = join(scope.dir, `${seeded}.yaml`);
  writeFileSync(
    file,
    `name: ${seeded}\nimage: ${base}\n${kernel}\nmemory: 256M\ndisk: 64M\ncloudInit:\n  packages: [curl]\n---\n` +
      `name: ${plain}\n${kernel}\nmemory: 256M\ndisk: 16M\n`,
    { mode: 0o644 },
  );
  return file;
}

/** Resolves when the run's stdout has shown `line`. */
function stdoutLine(run: HookedRun, line: string, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`no '${line}' on stdout in ${timeoutMs} ms: ${seen}`)),
      timeoutMs,
    );
    run.child.stdout!.on('data', (b: Buffer) => {
      seen += b.toString();
      if (seen.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Nothing of VM `name` in the inventory: no domain, no volume, no file named after it. */
function expectAbsent(inv: Inventory, name: string): void {
  expect(inv.domains).not.toContain(name);
  expect([...inv.volumes, ...inv.files].filter((f) => f.includes(name))).toEqual([]);
}

/** `name` is recorded as applied from `file` (apply's mark, src/vm/apply-mark.ts), as virsh reads it. */
async function appliedFrom(name: string, file: string): Promise<boolean> {
  const xml = (await virsh(uri, ['dumpxml', '--inactive', name])).stdout;
  return xml.includes('https://roost.dev/xmlns/apply/1') && xml.includes(file);
}

beforeAll(async () => {
  base = join(scope.dir, 'base.qcow2');
  await runAs(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', base, '32M']);
  // A first apply makes what every later one shares (the pool, roost's ssh key, the accel cache).
  const warm = vmFile(scope.name('warm1'), scope.name('warm2'));
  const r = await roost(user, ['apply', warm], { timeoutMs: 300_000 });
  expect(r.code, text(r)).toBe(0);
  before = await inventory(user, uri);
}, 400_000);
afterAll(async () => {
  await ensureDaemon(user);
  await scope.cleanup();
  await startSessionDaemon(user);
});

describe('Ctrl-C during apply of two VMs', () => {
  it('at create:seed: the VM made meanwhile stays as asked, the other is rolled back; apply again completes', async () => {
    const seeded = scope.name('s1');
    const plain = scope.name('p1');
    const file = vmFile(seeded, plain);
    const run = runHooked(user, ['apply', file], 'create:seed');
    const plainDone = stdoutLine(run, `✓ ${plain}: created`);
    await run.marker('paused before create:seed');
    await plainDone;
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, text(r)).toBe(130);
    expect(r.stdout).toContain(`✗ ${seeded}: as-it-was`);
    expect(r.stderr).toContain(
      `roost apply was interrupted (SIGINT): 1 of 2 VMs are not as the file asks: ${seeded} (as-it-was)`,
    );
    expectCleanMessage(r.stderr);
    const inv = await inventory(user, uri);
    expectAbsent(inv, seeded);
    expect(inv.domains).toContain(plain);
    expect(await appliedFrom(plain, file)).toBe(true);

    const again = await roost(user, ['apply', file], { timeoutMs: 300_000 });
    expect(again.code, text(again)).toBe(0);
    expect(again.stdout).toContain(`+ create ${seeded}`);
    expect(again.stdout).toContain(`= unchanged ${plain}`);
    expect(await appliedFrom(seeded, file)).toBe(true);
    const third = await roost(user, ['apply', file]);
    expect(third.stdout).not.toMatch(/^[+~-] /m);
    for (const name of [seeded, plain]) {
      const rm = await roost(user, ['rm', '--force', name]);
      expect(rm.code, rm.stderr).toBe(0);
    }
  }, 600_000);

  it('at create:define: both are rolled back, nothing is left, apply again completes', async () => {
    const seeded = scope.name('s2');
    const plain = scope.name('p2');
    const file = vmFile(seeded, plain);
    const run = runHooked(user, ['apply', file], 'create:define');
    // Both creates pause there: wait for the second marker (attached now, before any output can arrive).
    const both = new Promise<void>((resolve) => {
      let count = 0;
      run.child.stderr!.on('data', (b: Buffer) => {
        count += b.toString().split('paused before create:define').length - 1;
        if (count >= 2) resolve();
      });
    });
    await run.marker('paused before create:define');
    await both;
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, text(r)).toBe(130);
    expect(r.stdout).toContain(`✗ ${seeded}: as-it-was`);
    expect(r.stdout).toContain(`✗ ${plain}: as-it-was`);
    expectCleanMessage(r.stderr);
    expect(await inventory(user, uri)).toEqual(before);

    const again = await roost(user, ['apply', file], { timeoutMs: 300_000 });
    expect(again.code, text(again)).toBe(0);
    expect(await domainNames(uri)).toEqual(expect.arrayContaining([seeded, plain]));
  }, 600_000);
});
