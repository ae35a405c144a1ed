// `npm run bench` (scripts/bench.sh appends its output to BENCHMARKS.md): many VMs made at once, the way a user
// meets it when a script starts several creates together.
//
// Ten tiny-guest VMs (direct kernel boot, a blank 64 MiB qcow2 disk, one passt forward each), made three ways on
// one private session daemon, alternating the order per round:
// - `roost create` × 10, ten processes started together;
// - `roost apply` of one file with the ten VMs (one process; apply makes a few at a time itself);
// - `virt-install --import` × 10, ten processes started together (the same VM: kernel, memory, disk, forward).
// Each is timed from the first process started to the last one done (wall time). Every process must succeed,
// every VM must run with the forward it was given (no port or name clash, no lock timeout): otherwise the bench
// fails. Then `roost rm` of the ten, ten processes at once, is timed too and must leave no domain and no volume.
//
// Usage: tsx bench/parallel.ts [--vms 10] [--rounds 3]     Markdown to stdout, progress to stderr.
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyCreateArgs, tinyGuest, tinyVmDocument } from '../test/harness/fixtures.js';
import type { TestUser } from '../test/harness/test-user.js';
import { runAs } from '../test/harness/run.js';
import { timed, virtInstallTinyArgs } from './cli.js';
import { option } from './options.js';
import { startPrivateDaemon } from './private-daemon.js';

const VMS = Number(option('vms', '10')) || 10;
const ROUNDS = Number(option('rounds', '3')) || 3;
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const log = (m: string) => console.error(`bench parallel: ${m}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};

type Way = 'roost create' | 'roost apply' | 'virt-install';
const WAYS: Way[] = ['roost create', 'roost apply', 'virt-install'];
/** Forwarded host ports: a block of its own per way and round, so no two VMs of the run share one. */
const hostPort = (way: number, round: number, i: number) => 21000 + round * 300 + way * 100 + i;
const vmName = (way: number, round: number, i: number) => `p${way}${round}-${String(i).padStart(2, '0')}`;

/** Starts all at once; resolves with the wall time from the first start to the last exit (each must exit 0). */
async function together(jobs: (() => Promise<number>)[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(jobs.map((j) => j()));
  return performance.now() - t0;
}

function roostCreateArgs(guest: ReturnType<typeof tinyGuest>, name: string, port: number): string[] {
  const forward = `127.0.0.1:${port}:80`;
  return [
    cli,
    'create',
    name,
    ...tinyCreateArgs(guest),
    '--disk',
    '64M',
    '--port',
    forward,
    '--wait',
    'none',
    '--quiet',
  ];
}

/** The VM file `roost apply` gets: the same ten VMs as the creates. */
function applyFile(guest: ReturnType<typeof tinyGuest>, names: string[], ports: number[]): string {
  return names
    .map((name, i) => tinyVmDocument(guest, name, { ports: [`127.0.0.1:${ports[i]}:80`] }))
    .join('\n---\n');
}

interface Listed {
  name: string;
  state: string;
  ports: string[];
}

/** Every VM of the round runs with exactly the forward it was given; throws otherwise. */
async function checkRunning(user: TestUser, names: string[], ports: number[]): Promise<void> {
  const r = await runAs(user, process.execPath, [cli, 'ls', '--json'], { check: true });
  const listed = new Map((JSON.parse(r.stdout) as Listed[]).map((v) => [v.name, v]));
  names.forEach((name, i) => {
    const vm = listed.get(name);
    if (vm?.state !== 'running')
      throw new Error(`${name}: not running after the creates (${vm?.state ?? 'absent'})`);
    if (!vm.ports.includes(`127.0.0.1:${ports[i]}:80/tcp`))
      throw new Error(`${name}: forward ${ports[i]} missing (${vm.ports.join(', ')})`);
  });
}

/** No domain and no volume of roost's pool is left after the removals. */
async function checkNothingLeft(user: TestUser): Promise<void> {
  const doms = await runAs(user, 'virsh', ['-c', 'qemu:///session', 'list', '--all', '--name'], {
    check: true,
  });
  if (doms.stdout.trim()) throw new Error(`domains left after rm: ${doms.stdout.trim()}`);
  const vols = await runAs(user, 'virsh', ['-c', 'qemu:///session', 'vol-list', 'roost'], { check: false });
  const left = vols.stdout
    .split('\n')
    .slice(2)
    .filter((l) => l.trim());
  if (left.length) throw new Error(`volumes left after rm: ${left.join('; ')}`);
}

/**
 * virt-install of one VM, its disk made first with qemu-img (timed with it). Ten virt-installs that each create
 * their disk in libvirt's default pool fail together ('pool default has asynchronous jobs running'): a user
 * starting them at once would make the disks first, as here.
 */
async function virtInstall(user: TestUser, guest: ReturnType<typeof tinyGuest>, name: string, port: number) {
  const t0 = performance.now();
  const disk = join(user.home, 'vi-disks', `${name}.qcow2`);
  await timed(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
  await timed(
    user,
    'virt-install',
    virtInstallTinyArgs(guest, name, port, `path=${disk},format=qcow2,bus=virtio`),
  );
  return performance.now() - t0;
}

/** Every domain of the private daemon destroyed and undefined: a failed round must not leave guests running. */
async function destroyAll(user: TestUser): Promise<void> {
  const virsh = (...a: string[]) => runAs(user, 'virsh', ['-c', 'qemu:///session', ...a], { check: false });
  const names = (await virsh('list', '--all', '--name')).stdout.split('\n').filter((n) => n.trim());
  for (const n of names) {
    await virsh('destroy', n);
    await virsh('undefine', n, '--nvram');
  }
}

const daemon = await startPrivateDaemon('rb-par'); // short: the guest agent's socket path must fit in 108 bytes;
const { user } = daemon;
const viDisks = join(user.home, 'vi-disks');
mkdirSync(viDisks, { mode: 0o700 });
if (process.getuid?.() === 0) chownSync(viDisks, user.uid, user.gid);
const guest = tinyGuest(daemon.realUser);
const wall: Record<Way | 'roost rm', number[]> = {
  'roost create': [],
  'roost apply': [],
  'virt-install': [],
  'roost rm': [],
};
try {
  // Warm-up, not counted: one VM each way, alone. It also makes each tool's storage pool, which ten virt-installs
  // started together would each try to define (all but one then fail: 'pool default already exists').
  log('warm-up: one VM each way');
  await timed(user, process.execPath, roostCreateArgs(guest, 'warm-r', 20990));
  await timed(user, process.execPath, [cli, 'rm', '--force', 'warm-r', '--quiet']);
  await virtInstall(user, guest, 'warm-v', 20991);
  await timed(user, 'virsh', ['-c', 'qemu:///session', 'destroy', 'warm-v']);
  await timed(user, 'virsh', ['-c', 'qemu:///session', 'undefine', 'warm-v']);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
    for (const w of order) {
      const names = Array.from({ length: VMS }, (_, i) => vmName(w, round, i));
      const ports = names.map((_, i) => hostPort(w, round, i));
      const way = WAYS[w]!;
      log(`round ${round + 1}/${ROUNDS}: ${VMS} × ${way}`);
      let ms: number;
      if (way === 'roost create') {
        ms = await together(
          names.map((n, i) => () => timed(user, process.execPath, roostCreateArgs(guest, n, ports[i]!))),
        );
      } else if (way === 'roost apply') {
        const file = join(user.home, `parallel-${round}.yaml`);
        writeFileSync(file, applyFile(guest, names, ports), { mode: 0o644 });
        ms = await together([() => timed(user, process.execPath, [cli, 'apply', file, '--quiet'])]);
      } else {
        ms = await together(names.map((n, i) => () => virtInstall(user, guest, n, ports[i]!)));
      }
      wall[way].push(ms);
      await checkRunning(user, names, ports);
      // Removal: roost rm of roost's VMs (timed), virsh for virt-install's (as its user would).
      if (way === 'virt-install') {
        for (const n of names) {
          await timed(user, 'virsh', ['-c', 'qemu:///session', 'destroy', n]);
          await timed(user, 'virsh', ['-c', 'qemu:///session', 'undefine', n]);
          rmSync(join(user.home, 'vi-disks', `${n}.qcow2`), { force: true });
        }
      } else {
        const rm = await together(
          names.map((n) => () => timed(user, process.execPath, [cli, 'rm', '--force', n, '--quiet'])),
        );
        if (way === 'roost create') wall['roost rm'].push(rm);
      }
      await checkNothingLeft(user);
    }
  }
} finally {
  await destroyAll(user);
  await daemon.stop();
}

const f = (ms: number) => (ms / 1000).toFixed(2);
const med = (w: keyof typeof wall) => median(wall[w]);
const vi = med('virt-install');
const ratio = (w: Way) => vi / med(w);
process.stdout.write(
  [
    `## Many at once (bench/parallel.ts): ${VMS} VMs created together`,
    '',
    `Median of ${ROUNDS} rounds (range in small print), wall time from the first process started to the last one done;`,
    `every process succeeded and every VM ran with its own forward (checked), and nothing was left after the removals.`,
    'Ratio = virt-install ÷ roost, so above 1.0 means roost is faster.',
    '',
    '| way | wall time (s) | ratio vs virt-install |',
    '|---|---:|---:|',
    ...WAYS.map(
      (w) =>
        `| ${w === 'roost apply' ? `\`roost apply\` of one file with the ${VMS}` : `\`${w}\` × ${VMS}, processes started together`} | ${f(med(w))} <sub>(${f(Math.min(...wall[w]))}–${f(Math.max(...wall[w]))})</sub> | ${w === 'virt-install' ? '—' : `**${ratio(w).toFixed(2)}×**`} |`,
    ),
    `| \`roost rm --force\` × ${VMS}, processes started together (running VMs) | ${f(med('roost rm'))} <sub>(${f(Math.min(...wall['roost rm']))}–${f(Math.max(...wall['roost rm']))})</sub> | — |`,
    '',
    `The VMs: the tiny test guest booted directly from its kernel, 256 MiB, 1 vCPU, a blank 64 MiB qcow2 disk, one`,
    `passt forward each (127.0.0.1:PORT → 80); \`roost create --wait none\`, \`virt-install --noautoconsole\`; roost`,
    `adds its cloud-init-free defaults (serial log, VNC socket) and checks every forward is free.`,
    '',
  ].join('\n'),
);
