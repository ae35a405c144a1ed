// roost clone and roost edit --disk with the Debian cloud guest (systemd, cloud-init, sshd): what only a real
// distribution shows. A clone of a booted, then stopped, VM is its own machine once it boots — new ssh host keys
// (cloud-init regenerates them for the clone's new instance-id) and a new /etc/machine-id — and a disk grown with
// `roost edit --disk` while it was shut off gives the guest a larger `/` at its next boot (cloud-init's resizefs).
// Two boots, one after the other: the source, then the clone (grown before its first start).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScope, debianGuest, freePort, harness, roost, roostJson } from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('clonedeb', user, uri);
const guest = debianGuest(user);
const image = scope.name('img');
const src = scope.name('src');
const dst = scope.name('dst');
const GiB = 1024 ** 3;

interface Facts {
  hostKeys: string;
  machineId: string;
  rootBytes: number;
}

async function inGuest(vm: string, command: string): Promise<string> {
  const r = await roost(user, ['ssh', vm, '--', 'sh', '-c', `'${command}'`], { timeoutMs: 120_000 });
  expect(r.code, `${vm}: ${command}\n${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

/** What makes a machine itself, read over `roost ssh`. */
async function factsOf(vm: string): Promise<Facts> {
  return {
    hostKeys: await inGuest(vm, 'cat /etc/ssh/ssh_host_*_key.pub | sort'),
    machineId: await inGuest(vm, 'cat /etc/machine-id'),
    rootBytes: Number(await inGuest(vm, 'df -B1 --output=size / | tail -n1')),
  };
}

let before: Facts;
let after: Facts;

beforeAll(async () => {
  const imp = await roost(user, [
    'image',
    'import',
    guest.disk,
    '--as',
    image,
    '--user',
    guest.user ?? 'debian',
    '--firmware',
    'bios',
  ]);
  expect(imp.code, imp.stderr).toBe(0);
  const made = await roost(
    user,
    [
      'create',
      src,
      '--image',
      image,
      '--kernel',
      guest.kernel,
      '--initrd',
      guest.initrd,
      '--cmdline',
      guest.cmdline,
      '--memory',
      '1G',
      '--cpus',
      '2',
      '--port',
      `127.0.0.1:${await freePort()}:22`,
      '--wait',
      'ssh',
      '--wait-timeout',
      '900',
    ],
    { timeoutMs: 960_000 },
  );
  expect(made.code, made.stderr).toBe(0);
  before = await factsOf(src);
  const stop = await roost(user, ['stop', src], { timeoutMs: 120_000 });
  expect(stop.code, stop.stderr).toBe(0);

  const clone = await roostJson<{ ports: string[] }>(user, ['clone', src, dst]);
  expect(clone.ports.length).toBe(1);
  const grow = await roost(user, ['edit', dst, '--disk', `${Math.ceil(before.rootBytes / GiB) + 2}G`]);
  expect(grow.code, grow.stderr).toBe(0);
  const start = await roost(user, ['start', dst, '--wait', 'ssh', '--wait-timeout', '900'], {
    timeoutMs: 960_000,
  });
  expect(start.code, start.stderr).toBe(0);
  after = await factsOf(dst);
}, 2_000_000);

afterAll(async () => {
  await roost(user, ['rm', '--force', dst]);
  await roost(user, ['rm', '--force', src]);
  await roost(user, ['image', 'rm', image]);
  await scope.cleanup();
});

describe('a clone of a stopped Debian VM', () => {
  it('has ssh host keys of its own', () => {
    expect(before.hostKeys).toMatch(/^ssh-ed25519 /m);
    expect(after.hostKeys).toMatch(/^ssh-ed25519 /m);
    expect(after.hostKeys).not.toBe(before.hostKeys);
  });

  it('has a machine-id of its own', () => {
    expect(before.machineId).toMatch(/^[0-9a-f]{32}$/);
    expect(after.machineId).toMatch(/^[0-9a-f]{32}$/);
    expect(after.machineId).not.toBe(before.machineId);
  });

  it('boots with a larger / after its disk was grown while it was shut off', () => {
    expect(after.rootBytes).toBeGreaterThan(before.rootBytes + 1.5 * GiB);
  });
});
