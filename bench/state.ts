// Machine-state benchmarks (issue 18, "Benchmarks"), against a private session daemon of the test user (as
// bench/images.ts starts one), with the built CLI run as that user:
//
// - Snapshot create + revert of a running tiny guest with 1 GiB of memory: `roost snapshot create` / `revert`
//   on one VM vs `virsh snapshot-create-as` / `snapshot-revert` on a second VM made the same way (same kind of
//   snapshot: a BIOS guest with a qcow2 disk gets internal snapshots with memory either way). ROUNDS rounds,
//   alternating which goes first; medians and the ratio roost ÷ virsh.
// - `roost clone --linked` of a shut-off VM whose disk is 1 GiB vs one whose disk is 8 GiB (each with 1/32 of it
//   written): medians of ROUNDS clones each; the ratio 8 GiB ÷ 1 GiB near 1 shows the clone is O(1) in base size.
//
// Usage: tsx bench/state.ts      (prints a Markdown section to stdout; progress goes to stderr)
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSessionDaemon, stopSessionDaemon } from '../test/harness/daemon.js';
import { tinyCreateArgs, tinyGuest } from '../test/harness/fixtures.js';
import { spawnOptionsFor } from '../test/harness/run.js';
import { ensureTestUser, type TestUser } from '../test/harness/test-user.js';

const ROUNDS = 3;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(repoRoot, 'dist', 'cli', 'main.js');
const log = (m: string) => process.stderr.write(`bench state: ${m}\n`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Runs a command as `user` (argument array, no shell); resolves to its wall time in ms, rejects on failure. */
function timed(user: TestUser, cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let err = '';
    const child = spawn(cmd, args, { ...spawnOptionsFor(user), stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - t0)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

const roost = (user: TestUser, args: string[]) => timed(user, process.execPath, [CLI, ...args]);
const virsh = (user: TestUser, args: string[]) => timed(user, 'virsh', ['-c', 'qemu:///session', ...args]);

/** The test user with a private home and runtime dir: its own daemon, pool and VMs, removed afterwards. */
function privateUser(): TestUser {
  const realUser = ensureTestUser();
  // Short: QEMU's UNIX socket paths under it must fit in 108 bytes.
  const home = join(realUser.home, 'bst');
  const user: TestUser = { ...realUser, home, runtimeDir: join(home, 'run') };
  rmSync(home, { recursive: true, force: true });
  for (const d of [
    home,
    user.runtimeDir,
    join(home, '.cache'),
    join(home, '.config'),
    join(home, '.local'),
  ]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) chownSync(d, user.uid, user.gid);
  }
  return user;
}

interface SnapshotResult {
  roostCreate: number[];
  virshCreate: number[];
  roostRevert: number[];
  virshRevert: number[];
}

async function benchSnapshots(user: TestUser): Promise<SnapshotResult> {
  const guest = tinyGuest(ensureTestUser());
  const vm = (name: string) => [
    'create',
    name,
    ...tinyCreateArgs(guest),
    '--memory',
    '1G',
    '--disk',
    '64M',
    '--wait',
    'none',
  ];
  log('creating two running tiny guests with 1 GiB of memory');
  await roost(user, vm('sr'));
  await roost(user, vm('sv'));
  const r: SnapshotResult = { roostCreate: [], virshCreate: [], roostRevert: [], virshRevert: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const snap = `s${i}`;
    const byRoost = async () => {
      r.roostCreate.push(await roost(user, ['snapshot', 'create', 'sr', snap]));
      r.roostRevert.push(await roost(user, ['snapshot', 'revert', 'sr', snap]));
    };
    const byVirsh = async () => {
      r.virshCreate.push(await virsh(user, ['snapshot-create-as', 'sv', snap]));
      r.virshRevert.push(await virsh(user, ['snapshot-revert', 'sv', snap]));
    };
    for (const f of i % 2 ? [byVirsh, byRoost] : [byRoost, byVirsh]) await f();
    log(
      `round ${i + 1}: roost ${r.roostCreate.at(-1)!.toFixed(0)} + ${r.roostRevert.at(-1)!.toFixed(0)} ms, virsh ${r.virshCreate.at(-1)!.toFixed(0)} + ${r.virshRevert.at(-1)!.toFixed(0)} ms`,
    );
  }
  await roost(user, ['rm', '--force', 'sr']);
  await roost(user, ['rm', '--force', 'sv']);
  return r;
}

async function benchLinkedClones(user: TestUser): Promise<{ small: number[]; large: number[] }> {
  const guest = tinyGuest(ensureTestUser());
  const out = { small: [] as number[], large: [] as number[] };
  for (const [key, size] of [
    ['small', 1],
    ['large', 8],
  ] as const) {
    const src = `base-${size}g`;
    log(`creating ${src}: a ${size} GiB disk with ${size * 32} MiB written`);
    await roost(user, ['create', src, ...tinyCreateArgs(guest), '--disk', `${size}G`, '--no-start']);
    const disk = join(user.home, '.local', 'share', 'roost', 'pool', `${src}.qcow2`);
    await timed(user, 'qemu-io', ['-f', 'qcow2', '-c', `write -P 0x5a 0 ${size * 32}M`, disk]);
    for (let i = 0; i < ROUNDS; i++)
      out[key].push(await roost(user, ['clone', '--linked', src, `${src}-${i}`]));
    log(`${src}: clone --linked ${out[key].map((ms) => ms.toFixed(0)).join(', ')} ms`);
  }
  return out;
}

const fmt = (xs: number[]) =>
  `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;

const user = privateUser();
log(`starting a session daemon as ${user.name} under ${user.home}`);
const daemon = await startSessionDaemon(user);
let snaps: SnapshotResult;
let clones: { small: number[]; large: number[] };
try {
  snaps = await benchSnapshots(user);
  clones = await benchLinkedClones(user);
} finally {
  await stopSessionDaemon(daemon);
  rmSync(user.home, { recursive: true, force: true });
}
const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);

process.stdout.write(`## Machine state (bench/state.ts)

A running tiny guest with 1 GiB of memory and a 64 MiB qcow2 disk (internal snapshots with memory, for roost and
virsh alike), ${ROUNDS} rounds alternating which goes first; ms, median (min–max), wall time of the command.

| operation | roost | virsh | roost ÷ virsh |
|---|---|---|---|
| snapshot create (running, with memory) | ${fmt(snaps.roostCreate)} | ${fmt(snaps.virshCreate)} | ${ratio(snaps.roostCreate, snaps.virshCreate)} |
| snapshot revert (back to running) | ${fmt(snaps.roostRevert)} | ${fmt(snaps.virshRevert)} | ${ratio(snaps.roostRevert, snaps.virshRevert)} |

\`roost clone --linked\` of a shut-off VM (the source's disk becomes the shared base; 1/32 of it written), ${ROUNDS}
clones each:

| base disk | clone --linked (ms) |
|---|---|
| 1 GiB | ${fmt(clones.small)} |
| 8 GiB | ${fmt(clones.large)} |
| **8 GiB ÷ 1 GiB** | **${ratio(clones.large, clones.small)}** (≈ 1: O(1) in the base's size) |
`);
