// `npm run bench` (scripts/bench.sh appends its output to BENCHMARKS.md): roost on several hosts (docs/hosts.md).
//
// The "remote" hosts are on this machine, as in the tests (test/harness/remote-host.ts): each is a private sshd on
// 127.0.0.1 admitting its own second unprivileged user by key, with that user's own home and session daemon. So
// ssh, the qemu+ssh:// transport and the remote daemon are all real; only the network is loopback (no latency).
// The local test user runs the built CLI and has the three hosts in its hosts.yaml (restored after).
//
// 1. `roost ls --all-hosts --json` (every host at once, this host's default connection included) against the
//    slowest single host's `roost -H NAME ls --json`, each host holding the same number of defined (not running)
//    tiny-guest VMs; the runs interleaved (the order rotates each round), medians. Target: ≤ 1.3×.
// 2. Image upload throughput: a remote create's upload of its image (uploadToPool, src/vm/remote.ts: libvirt's
//    volume upload stream over the qemu+ssh:// connection), timed alone by bench/upload-once.ts, against `scp` of
//    the same file to the same user over the same sshd; alternating, medians. Target: ≥ 0.8× scp's throughput.
//
// Usage: tsx bench/hosts.ts [--vms 20] [--rounds 11] [--mib 256] [--upload-rounds 5]
// Markdown to stdout, progress to stderr. Root only (sshd, the second users).
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sessionUri, startSessionDaemon, stopSessionDaemon } from '../test/harness/daemon.js';
import { tinyCreateArgs, tinyGuest } from '../test/harness/fixtures.js';
import { startRemoteHost, type RemoteHost } from '../test/harness/remote-host.js';
import { runAs } from '../test/harness/run.js';
import { createScope } from '../test/harness/scope.js';
import { ensureTestUser } from '../test/harness/test-user.js';
import type { HostVms } from '../src/shared/hosts.js';
import { timed } from './cli.js';
import { option } from './options.js';
import { runJson } from './private-daemon.js';

const VMS = Number(option('vms', '20')) || 20;
const ROUNDS = Number(option('rounds', '11')) || 11;
const MIB = Number(option('mib', '256')) || 256;
const UPLOAD_ROUNDS = Number(option('upload-rounds', '5')) || 5;
const HOSTS = 3;
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const log = (m: string) => console.error(`bench hosts: ${m}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
const range = (xs: number[], f: (n: number) => string) =>
  `<sub>(${f(Math.min(...xs))}–${f(Math.max(...xs))})</sub>`;

if (process.getuid?.() !== 0) throw new Error('bench/hosts.ts must run as root (sshd, second users)');

const user = ensureTestUser();
const scope = createScope('bh', user, sessionUri(user));
/**
 * The tiny guest's kernel and initrd, copied where the remote users can read them: the test user's fixture cache
 * is in its private home, and each remote user's roost opens the files itself.
 */
function readableGuest(): ReturnType<typeof tinyGuest> {
  const fixture = tinyGuest(user);
  const dir = mkdtempSync('/tmp/roost-bench-hosts-guest-');
  chmodSync(dir, 0o755);
  const copy = (from: string, name: string) => {
    const to = join(dir, name);
    copyFileSync(from, to);
    chmodSync(to, 0o644);
    return to;
  };
  return { ...fixture, kernel: copy(fixture.kernel, 'vmlinuz'), initrd: copy(fixture.initrd, 'initrd.img') };
}
const guest = readableGuest();
const hostName = (i: number) => `bh${i + 1}`;
const hostsYaml = join(user.home, '.config', 'roost', 'hosts.yaml');
const hostsBefore = existsSync(hostsYaml) ? readFileSync(hostsYaml, 'utf8') : undefined;

/** `roost ARGS` as the local user; its stdout (it must exit 0). */
async function roostOut(args: string[]): Promise<string> {
  return (await runAs(user, process.execPath, [cli, ...args], { check: true, timeoutMs: 120_000 })).stdout;
}

/** VMS tiny-guest VMs defined on the remote user's own daemon (made by roost there, as that user: no upload). */
async function defineVms(host: RemoteHost): Promise<void> {
  for (let i = 0; i < VMS; i++) {
    const name = scope.name(`v${String(i).padStart(2, '0')}`);
    await runAs(
      host.user,
      process.execPath,
      [cli, 'create', name, ...tinyCreateArgs(guest), '--no-start', '--quiet'],
      {
        check: true,
        timeoutMs: 120_000,
      },
    );
  }
}

/** The listing is whole: every host answered with its VMS VMs (else the timing would be of a failure). */
function checkAll(out: string): number {
  const rows = JSON.parse(out) as HostVms[];
  for (const r of rows) {
    if (r.error) throw new Error(`ls --all-hosts: ${r.host}: ${r.error.message}`);
    const ours = r.vms!.filter((v) => v.name.startsWith(scope.prefix)).length;
    if (r.host !== 'local' && ours !== VMS)
      throw new Error(`ls --all-hosts: ${r.host} listed ${ours} of ${VMS}`);
  }
  if (rows.length !== HOSTS + 1)
    throw new Error(`ls --all-hosts: ${rows.length} hosts, expected ${HOSTS + 1}`);
  return rows.find((r) => r.host === 'local')!.vms!.length;
}

/** One round: --all-hosts and each single host, in an order rotated by the round; wall times (ms). */
async function lsRound(round: number, times: Map<string, number[]>): Promise<number> {
  const ways = ['all', ...Array.from({ length: HOSTS }, (_, i) => hostName(i))];
  const order = ways.map((_, i) => ways[(i + round) % ways.length]!);
  let localVms = 0;
  for (const way of order) {
    const args = way === 'all' ? ['ls', '--all-hosts', '--json'] : ['-H', way, 'ls', '--json'];
    const t0 = performance.now();
    const out = await roostOut(args);
    const ms = performance.now() - t0;
    if (way === 'all') localVms = checkAll(out);
    else if ((JSON.parse(out) as unknown[]).length !== VMS) throw new Error(`-H ${way} ls: not ${VMS} VMs`);
    times.get(way)!.push(ms);
  }
  return localVms;
}

/** A file of MIB MiB of random bytes (incompressible: neither transport gains from compression), the user's. */
function makeImage(path: string): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    const chunk = randomBytes(1 << 20);
    for (let i = 0; i < MIB; i++) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  chownSync(path, user.uid, user.gid);
}

const sshArgs = (h: RemoteHost) => ['-F', '/dev/null', '-i', h.key, '-o', 'BatchMode=yes'];

interface UploadTimes {
  upload: number[];
  scp: number[];
  login: number[];
}

/** Alternating: roost's upload, scp of the same file to the same user, and an `ssh true` (scp's login alone). */
async function uploadRounds(h: RemoteHost, file: string): Promise<UploadTimes> {
  const t: UploadTimes = { upload: [], scp: [], login: [] };
  const remoteCopy = join(h.user.home, 'bench-scp.img');
  const scp = () =>
    timed(user, 'scp', [
      ...sshArgs(h),
      '-q',
      '-P',
      String(h.port),
      file,
      `${h.user.name}@127.0.0.1:${remoteCopy}`,
    ]);
  const upload = async (i: number) => {
    const lines = (await runJson(user, process.execPath, [
      '--import',
      'tsx',
      join(import.meta.dirname, 'upload-once.ts'),
      h.uri,
      file,
      scope.name(`up${i}`),
    ])) as unknown as { ms: number }[];
    return lines[0]!.ms;
  };
  log('upload warm-up (not counted)');
  await upload(99);
  await scp();
  for (let i = 0; i < UPLOAD_ROUNDS; i++) {
    log(`upload round ${i + 1}/${UPLOAD_ROUNDS}`);
    const pair = i % 2 === 0 ? ['upload', 'scp'] : ['scp', 'upload'];
    for (const w of pair) {
      if (w === 'upload') t.upload.push(await upload(i));
      else {
        t.scp.push(await scp());
        rmSync(remoteCopy, { force: true });
      }
    }
    t.login.push(
      await timed(user, 'ssh', [...sshArgs(h), '-p', String(h.port), `${h.user.name}@127.0.0.1`, 'true']),
    );
  }
  return t;
}

function report(ls: Map<string, number[]>, localVms: number, up: UploadTimes, hosts: RemoteHost[]): string {
  const f = (ms: number) => (ms / 1000).toFixed(2);
  const all = median(ls.get('all')!);
  const singles = hosts.map((_, i) => hostName(i));
  const slowest = Math.max(...singles.map((n) => median(ls.get(n)!)));
  const mibps = (ms: number) => MIB / (ms / 1000);
  const fr = (ms: number) => mibps(ms).toFixed(0);
  const scpXfer = median(up.scp) - median(up.login);
  const ratioXfer = mibps(median(up.upload)) / mibps(scpXfer);
  const ratioWall = mibps(median(up.upload)) / mibps(median(up.scp));
  return [
    `## Several hosts (bench/hosts.ts): \`ls --all-hosts\` and image upload`,
    '',
    `The ${HOSTS} "remote" hosts are on this machine: each a private sshd on 127.0.0.1 admitting its own second`,
    `unprivileged user (${hosts.map((h) => h.user.name).join(', ')}) by key, each user with its own home and session`,
    'daemon, reached as `qemu+ssh://USER@127.0.0.1:PORT/session` from hosts.yaml. ssh, the transport and the',
    'daemons are real; the network is loopback (no latency, no bandwidth limit), so the numbers show what roost adds.',
    '',
    `### \`roost ls --all-hosts --json\` vs one host: ${VMS} defined tiny-guest VMs on each remote host`,
    '',
    `Median of ${ROUNDS} rounds (range in small print), each command's start to exit; the ${HOSTS + 1} commands of a round`,
    `run one after another in an order rotated each round. \`--all-hosts\` also asks this host's default connection`,
    `(${localVms} VMs there); every listing was checked whole (each host answered, with its ${VMS} VMs).`,
    '',
    '| command | wall time (s) |',
    '|---|---:|',
    ...singles.map(
      (n) => `| \`roost -H ${n} ls --json\` | ${f(median(ls.get(n)!))} ${range(ls.get(n)!, f)} |`,
    ),
    `| \`roost ls --all-hosts --json\` (${HOSTS} remote + local, at once) | ${f(all)} ${range(ls.get('all')!, f)} |`,
    '',
    `\`--all-hosts\` ÷ the slowest single host: **${(all / slowest).toFixed(2)}×** (target ≤ 1.3×).`,
    '',
    `### Image upload to a remote host vs \`scp\`: a ${MIB} MiB file of random bytes`,
    '',
    'roost: `uploadToPool` (src/vm/remote.ts) — what `roost create --image FILE` on a remote host runs for the',
    "image: a raw volume made in roost's pool there, then the file through libvirt's volume upload stream over the",
    'qemu+ssh:// connection — called directly as the local user (bench/upload-once.ts) and timed alone, from the',
    'volume create to the stream finished; the connection and the ask for the remote directories come before, untimed.',
    `scp: \`scp\` of the same file to the same user through the same sshd, to its home (same disk); its time includes`,
    `its ssh login, so the login alone (\`ssh HOST true\`, median ${f(median(up.login))} s) is also subtracted for the`,
    `transfer-only figure. Median of ${UPLOAD_ROUNDS} alternating rounds after one warm-up each.`,
    '',
    '| way | time (s) | MiB/s |',
    '|---|---:|---:|',
    `| roost upload (libvirt upload stream over qemu+ssh://) | ${f(median(up.upload))} ${range(up.upload, f)} | ${fr(median(up.upload))} |`,
    `| \`scp\`, whole command | ${f(median(up.scp))} ${range(up.scp, f)} | ${fr(median(up.scp))} |`,
    `| \`scp\`, minus its login | ${f(scpXfer)} | ${fr(scpXfer)} |`,
    '',
    `roost's throughput ÷ scp's: **${ratioXfer.toFixed(2)}×** against scp's transfer alone (${ratioWall.toFixed(2)}× against`,
    'the whole scp command); target ≥ 0.8×.',
    '',
  ].join('\n');
}

const hosts: RemoteHost[] = [];
const localDaemon = await startSessionDaemon(user);
const image = join(scope.dir, 'bench-upload.img');
try {
  for (let i = 0; i < HOSTS; i++) {
    log(`remote host ${i + 1}/${HOSTS}: sshd, user, session daemon`);
    hosts.push(await startRemoteHost(user, scope, { suffix: i === 0 ? 'r' : `r${i + 1}` }));
  }
  log(`defining ${VMS} tiny-guest VMs on each remote host`);
  await Promise.all(hosts.map((h) => defineVms(h)));
  for (const [i, h] of hosts.entries()) await roostOut(['hosts', 'add', hostName(i), h.uri]);
  const ls = new Map<string, number[]>([
    ['all', []],
    ...hosts.map((_, i) => [hostName(i), []] as [string, number[]]),
  ]);
  log('warm-up ls round (not counted)');
  let localVms = await lsRound(0, new Map([...ls].map(([k]) => [k, []])));
  for (let r = 0; r < ROUNDS; r++) {
    log(`ls round ${r + 1}/${ROUNDS}`);
    localVms = await lsRound(r, ls);
  }
  log(`writing a ${MIB} MiB file`);
  makeImage(image);
  const up = await uploadRounds(hosts[0]!, image);
  process.stdout.write(report(ls, localVms, up, hosts));
} finally {
  log('cleaning up: VMs and volumes over there, sshds, daemons started here, hosts.yaml, known_hosts');
  for (const h of [...hosts].reverse()) {
    rmSync(join(h.user.home, 'bench-scp.img'), { force: true });
    await h.stop(scope);
  }
  if (hostsBefore === undefined) rmSync(hostsYaml, { force: true });
  else writeFileSync(hostsYaml, hostsBefore);
  rmSync(join(guest.kernel, '..'), { recursive: true, force: true });
  await scope.cleanup();
  if (localDaemon.startedHere) await stopSessionDaemon(localDaemon);
}
