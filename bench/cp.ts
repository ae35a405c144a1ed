// `roost cp` against plain `scp` over the same forward (issue 17: roost cp ≥ 0.8× plain scp), on one boot of the
// Debian test guest made with `roost create --image` as the unprivileged test user (its own session daemon,
// started on demand as a user's would be).
//
// Each round copies an N MiB random file host → guest and guest → host twice: once with `roost cp --quiet` (the
// built CLI, start to exit: its libvirt lookups, its ssh login and the transfer) and once with plain `scp -q` run
// by hand with the login `roost ssh NAME --print` names (port, key, known_hosts, user), alternating which goes
// first. MB/s = 10^6 B/s, median of the rounds; ratio = roost cp's rate ÷ scp's.
//
// Usage: tsx bench/cp.ts [--mib 256] [--rounds 1] [--vm NAME]   (a Markdown section on stdout, progress on
// stderr; --vm reuses a running VM of the test user's instead of booting one)
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { CLI, roost } from '../test/harness/cli.js';
import { debianGuest } from '../test/harness/fixtures.js';
import { freePort } from '../test/harness/net.js';
import { spawnOptionsFor } from '../test/harness/run.js';
import { ensureTestUser, type TestUser } from '../test/harness/test-user.js';
import { flag, option } from './options.js';

const MIB = Number(option('mib', '256'));
const ROUNDS = Number(option('rounds', '1'));
const REUSE = option('vm', '');
const NAME = REUSE || 'bench-cp-deb';
const IMAGE = 'bench-cp-img';

const log = (m: string) => process.stderr.write(`bench cp: ${m}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function roostOk(user: TestUser, argv: string[], timeoutMs = 120_000): Promise<string> {
  const r = await roost(user, argv, { timeoutMs });
  if (r.code !== 0) throw new Error(`roost ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Wall time of one program run as the test user, start to exit; fails on a non-zero exit. */
function timed(user: TestUser, cmd: string, argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const start = performance.now();
    const child = spawn(cmd, argv, { ...spawnOptionsFor(user), stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(performance.now() - start);
      else reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

async function bootGuest(user: TestUser): Promise<number> {
  const guest = debianGuest(user);
  await roost(user, ['rm', '--force', NAME]);
  await roost(user, ['image', 'rm', IMAGE]);
  await roostOk(user, [
    'image',
    'import',
    guest.disk,
    '--as',
    IMAGE,
    '--user',
    guest.user ?? 'debian',
    '--firmware',
    'bios',
  ]);
  const start = performance.now();
  await roostOk(
    user,
    [
      'create',
      NAME,
      '--image',
      IMAGE,
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
      '1200',
    ],
    1_260_000,
  );
  return performance.now() - start;
}

/**
 * Plain scp's arguments for the login roost names (`roost ssh NAME --print --json`): ssh's `-p PORT` becomes
 * scp's `-P PORT`, `-l USER HOST` becomes `-o User=USER` and the host; every `-o`/`-i` option is kept.
 */
export function plainScpBase(sshArgv: string[]): { options: string[]; host: string } {
  const args = sshArgv.slice(1);
  const options: string[] = [];
  let host = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-p') options.push('-P', args[++i]!);
    else if (a === '-l') {
      options.push('-o', `User=${args[++i]!}`);
      host = args[++i]!;
    } else options.push(a);
  }
  return { options, host };
}

interface Round {
  roostUp: number;
  scpUp: number;
  roostDown: number;
  scpDown: number;
}

async function benchRounds(user: TestUser, dir: string): Promise<Round[]> {
  const src = join(dir, 'payload.bin');
  writeFileSync(src, randomBytes(MIB * 1024 * 1024));
  chownSync(src, user.uid, user.gid);
  const digest = createHash('sha256').update(readFileSync(src)).digest('hex');
  const printed = JSON.parse(await roostOk(user, ['ssh', NAME, '--print', '--json'])) as { argv: string[] };
  const { options, host } = plainScpBase(printed.argv);
  const back = join(dir, 'back.bin');
  const roostCp = (from: string, to: string) =>
    timed(user, process.execPath, [CLI, 'cp', '--quiet', from, to]);
  const scp = (from: string, to: string) => timed(user, 'scp', ['-q', ...options, '--', from, to]);
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const scpFirst = r % 2 === 1;
    const pair = async (a: () => Promise<number>, b: () => Promise<number>) =>
      scpFirst ? (await b(), await a()) : (await a(), await b());
    let roostUp = 0;
    let scpUp = 0;
    let roostDown = 0;
    let scpDown = 0;
    await pair(
      async () => (roostUp = await roostCp(src, `${NAME}:/tmp/bench-roost.bin`)),
      async () => (scpUp = await scp(src, `${host}:/tmp/bench-scp.bin`)),
    );
    await pair(
      async () => (roostDown = await roostCp(`${NAME}:/tmp/bench-roost.bin`, back)),
      async () => (scpDown = await scp(`${host}:/tmp/bench-scp.bin`, back)),
    );
    if (createHash('sha256').update(readFileSync(back)).digest('hex') !== digest)
      throw new Error('the file that came back differs from the one sent');
    rounds.push({ roostUp, scpUp, roostDown, scpDown });
    log(
      `round ${r + 1}: up roost ${roostUp.toFixed(0)} ms, scp ${scpUp.toFixed(0)} ms; down roost ${roostDown.toFixed(0)} ms, scp ${scpDown.toFixed(0)} ms`,
    );
  }
  return rounds;
}

const rate = (ms: number) => (MIB * 1024 * 1024) / 1e6 / (ms / 1000);

function report(rounds: Round[], bootMs: number | undefined, load: string): string {
  const med = (k: keyof Round) => median(rounds.map((r) => rate(r[k])));
  const up = med('roostUp') / med('scpUp');
  const down = med('roostDown') / med('scpDown');
  const busy =
    Number(load.split(' ')[0]) > cpus().length
      ? '\n\n**Warning:** the 1-minute load exceeded the core count when this run started: other work competed for ' +
        "the CPU (the guest's two TCG vCPUs want both cores), so the rates are low and noisy; the ratio still " +
        'compares the two tools on the same guest.'
      : '';
  const booted =
    bootMs === undefined
      ? 'a running VM (--vm)'
      : `one boot (logged in after ${(bootMs / 1000).toFixed(0)} s)`;
  return `## roost cp (bench/cp.ts)

${booted} of the Debian test guest (1 GiB, 2 vCPUs, TCG), reached through its passt forward to port 22. An
${MIB} MiB random file, ${ROUNDS} round(s), alternating which tool goes first: \`roost cp --quiet\` (start to exit,
lookups and login included; scp in SFTP mode with \`-p\`) against plain \`scp -q\` with the same port, key,
known_hosts and user. MB/s = 10^6 B/s; both runs' file came back with the same SHA-256.

| benchmark | result | target | met |
|---|---:|---|:---:|
| host → guest, \`roost cp\`, MB/s | ${med('roostUp').toFixed(2)} | — | — |
| host → guest, plain \`scp\`, MB/s | ${med('scpUp').toFixed(2)} | — | — |
| guest → host, \`roost cp\`, MB/s | ${med('roostDown').toFixed(2)} | — | — |
| guest → host, plain \`scp\`, MB/s | ${med('scpDown').toFixed(2)} | — | — |
| ratio roost cp ÷ scp, host → guest / guest → host | **${up.toFixed(2)}** / **${down.toFixed(2)}** | ≥ 0.8 | ${up >= 0.8 && down >= 0.8 ? 'yes' : 'no'} |

Load average before the run ${load} on ${cpus().length} cores.${busy}
`;
}

async function main(): Promise<void> {
  const user = ensureTestUser();
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const dir = join(user.home, 'bench-cp');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, user.uid, user.gid);
  let bootMs: number | undefined;
  try {
    if (!REUSE) {
      log('booting the Debian guest (several minutes under TCG)');
      bootMs = await bootGuest(user);
    }
    const rounds = await benchRounds(user, dir);
    process.stdout.write(report(rounds, bootMs, load));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!REUSE && !flag('keep')) {
      await roost(user, ['rm', '--force', NAME]);
      await roost(user, ['image', 'rm', IMAGE]);
    }
  }
}

await main();
