// Shared-folder benchmarks (issue 17): ONE boot of the tiny test guest, made with `roost create --mount` against a
// private session daemon of the unprivileged test user (as bench/net.ts does), with a scratch disk of its own
// (`--disk`, formatted ext2 by the guest when its command line says roost.scratchdisk). The guest times each
// workload itself (its /cgi-bin/bench, seconds of its uptime), so HTTP and the host's clock are not in the numbers:
//
// - sequential write of a 256 MiB file (dd, synced) and reading it back (caches dropped first);
// - an untar of a small source tree (this repository's src, test and docs: a few hundred small files), synced;
//
// each through the shared folder (9p here, or virtiofs where the host has it) and on the guest's own disk
// (virtio-blk, qcow2), alternating which goes first. Median of the rounds; ratio mount ÷ disk (time).
//
// Usage: tsx bench/mounts.ts [--rounds 3] [--mib 256]   (prints a Markdown section to stdout; progress on stderr)
import { chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../src/index.js';
import { roost } from '../test/harness/cli.js';
import { startSessionDaemon, stopSessionDaemon } from '../test/harness/daemon.js';
import { tinyCreateArgs, tinyGuest } from '../test/harness/fixtures.js';
import { freePort, httpGet } from '../test/harness/net.js';
import { runAs } from '../test/harness/run.js';
import { ensureTestUser, type TestUser } from '../test/harness/test-user.js';
import { option } from './options.js';

const ROUNDS = Number(option('rounds', '3'));
const MIB = Number(option('mib', '256'));
const NAME = 'bench-mounts';
/** Where each workload runs in the guest: the share's tag, and the scratch disk. */
const TARGETS = ['roost0', 'disk'] as const;
type Target = (typeof TARGETS)[number];
type Op = 'write' | 'read' | 'untar';
const OPS: Op[] = ['write', 'read', 'untar'];
const REPO = join(import.meta.dirname, '..');

const log = (m: string) => process.stderr.write(`bench/mounts: ${m}\n`);

/** The test user with a private home and a short runtime dir (passt's socket path, see bench/net.ts). */
function benchUser(real: TestUser): TestUser {
  return {
    ...real,
    home: join(real.home, '.cache', 'roost-bench-mnt'),
    runtimeDir: join(real.runtimeDir, 'roost-bench-mnt'),
  };
}

function ownedDir(user: TestUser, d: string): string {
  mkdirSync(d, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(d, user.uid, user.gid);
  return d;
}

function makeUserDirs(user: TestUser): void {
  removeUserDirs(user);
  for (const d of [
    user.home,
    user.runtimeDir,
    join(user.home, '.cache'),
    join(user.home, '.config'),
    join(user.home, '.local'),
    join(user.home, '.local', 'share'),
  ])
    ownedDir(user, d);
}

function removeUserDirs(user: TestUser): void {
  rmSync(user.home, { recursive: true, force: true });
  rmSync(user.runtimeDir, { recursive: true, force: true });
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countFiles(join(dir, e.name));
    else if (e.isFile()) n += 1;
  }
  return n;
}

/** The source tree, packed into the share by the user (the guest unpacks it). */
async function packSourceTree(user: TestUser, share: string): Promise<{ files: number; bytes: number }> {
  const tar = join(share, 'src.tar');
  await runAs(user, 'tar', ['-cf', tar, '-C', REPO, 'src', 'test', 'docs']);
  return {
    files: ['src', 'test', 'docs'].reduce((n, d) => n + countFiles(join(REPO, d)), 0),
    bytes: statSync(tar).size,
  };
}

async function guestTime(port: number, op: Op, target: Target): Promise<number> {
  const arg = op === 'write' ? `+${MIB}` : op === 'untar' ? '+roost0' : '';
  const r = await httpGet(port, `/cgi-bin/bench?${op}+${target}${arg}`, 600_000);
  const seconds = Number(r.body.trim());
  if (r.status !== 200 || !Number.isFinite(seconds)) {
    throw new Error(`${op} on ${target}: HTTP ${r.status}: ${r.body.trim()}`);
  }
  return seconds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Results {
  type: string;
  tree: { files: number; bytes: number };
  times: Record<Target, Record<Op, number[]>>;
  facts: { load: string; libvirt: string; qemu: string };
}

async function benchAll(): Promise<Results> {
  const real = ensureTestUser();
  const user = benchUser(real);
  makeUserDirs(user);
  const share = ownedDir(user, join(user.home, 'share'));
  log(`starting a session daemon as ${user.name} under ${user.home}`);
  const daemon = await startSessionDaemon(user);
  try {
    const client = await connect(daemon.uri);
    const ver = (v: bigint) =>
      `${Math.floor(Number(v) / 1e6)}.${Math.floor(Number(v) / 1e3) % 1000}.${Number(v) % 1000}`;
    const facts = {
      load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      libvirt: ver(await client.libVersion()),
      qemu: ver(await client.version()),
    };
    await client.close();
    const tree = await packSourceTree(user, share);
    const port = await freePort();
    const guest = tinyGuest(real);
    const args = tinyCreateArgs(guest);
    args[args.indexOf('--cmdline') + 1] = `${guest.cmdline} roost.scratchdisk`;
    args[args.indexOf('--memory') + 1] = '512M';
    log(`booting the tiny guest with --mount ${share} and a 1 GiB scratch disk`);
    const made = await roost(
      user,
      [
        'create',
        NAME,
        ...args,
        '--disk',
        '1G',
        '--mount',
        `${share}:/share`,
        '--port',
        `127.0.0.1:${port}:80`,
        '--wait',
        'port:80',
        '--json',
      ],
      { timeoutMs: 600_000 },
    );
    if (made.code !== 0) throw new Error(`roost create exited ${made.code}: ${made.stderr.trim()}`);
    const type = (JSON.parse(made.stdout) as { mounts: { type: string }[] }).mounts[0]!.type;
    const times = Object.fromEntries(
      TARGETS.map((t) => [t, Object.fromEntries(OPS.map((o) => [o, [] as number[]]))]),
    ) as Results['times'];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
      for (const target of order) {
        for (const op of OPS) {
          const s = await guestTime(port, op, target);
          times[target][op].push(s);
          log(`round ${round + 1}: ${op} on ${target}: ${s.toFixed(2)} s`);
        }
      }
    }
    return { type, tree, times, facts };
  } finally {
    await roost(user, ['rm', '--force', NAME], { timeoutMs: 120_000 }).catch(() => undefined);
    await stopSessionDaemon(daemon);
    removeUserDirs(user);
  }
}

function report(r: Results): string {
  const mbs = (seconds: number) => ((MIB * 1024 * 1024) / 1e6 / seconds).toFixed(1);
  const row = (what: string, op: Op, unit: (s: number) => string) => {
    const m = median(r.times.roost0[op]);
    const d = median(r.times.disk[op]);
    return `| ${what} | ${m.toFixed(2)} s (${unit(m)}) | ${d.toFixed(2)} s (${unit(d)}) | ${(m / d).toFixed(2)}× |`;
  };
  return [
    '## Shared folders (bench/mounts.ts)',
    '',
    `One tiny guest under TCG, \`roost create --mount\` (${r.type}), against its own virtio-blk scratch disk; ` +
      `timed by the guest, median of ${ROUNDS} rounds. libvirt ${r.facts.libvirt}, QEMU ${r.facts.qemu}, ` +
      `load ${r.facts.load} at the start. Target (issue 17): the small-file workload within 3× of the disk.`,
    '',
    `| workload | through the mount (${r.type}) | guest's own disk | mount ÷ disk |`,
    '|---|---|---|---|',
    row(`write ${MIB} MiB (dd, synced)`, 'write', (s) => `${mbs(s)} MB/s`),
    row(`read ${MIB} MiB (caches dropped)`, 'read', (s) => `${mbs(s)} MB/s`),
    row(
      `untar ${r.tree.files} files, ${(r.tree.bytes / 1e6).toFixed(1)} MB (src, test, docs of this repo)`,
      'untar',
      (s) => `${(r.tree.files / s).toFixed(0)} files/s`,
    ),
    '',
    `virtiofs vs 9p: ${r.type === '9p' ? 'this host has no virtiofsd (roost doctor), so only 9p was measured' : 'only the type roost chose was measured'}.`,
  ].join('\n');
}

const results = await benchAll();
process.stdout.write(`${report(results)}\n`);
