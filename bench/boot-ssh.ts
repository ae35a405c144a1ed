// Boot to ssh (issue 22, item 5), run by bench/run.ts against its private session daemon as the same unprivileged
// user: the Debian test guest, from nothing to a working ssh login, made two ways.
//
// - roost: `roost create NAME --image IMG --wait ssh --port 127.0.0.1:P:22 --json`, timed from its start to the
//   moment it reports the VM ready (its JSON result on stdout) and to its exit.
// - the baseline: `virt-install --import --cloud-init user-data=…,meta-data=…,network-config=…` of the same
//   VM (same kernel, memory, vCPUs, a qcow2 overlay of the same size on the same image, a virtio passt NIC
//   forwarding 127.0.0.1:P → 22, the same cloud-config roost writes), then `ssh -o BatchMode=yes … true` every
//   second until it logs in, as a user would script it; then `cloud-init status --wait` (for information:
//   roost's ready also means cloud-init is done).
// - For roost's VM, a watcher (bench/console-watch.ts) notes when cloud-init's final message reaches the VM's
//   serial log: the guest is ready from about then, and the readiness latency is roost's ready moment minus that
//   one. For both, a prober (bench/ssh-banner.ts) notes when the guest's sshd first sends its banner through the
//   forward (for comparison: sshd is up seconds before cloud-init is done).
//
// Both use the user's own key (~/.ssh/id_ed25519, made beforehand: roost seeds the first ~/.ssh/id_*.pub). The
// baseline's ssh names it with -i: OpenSSH looks for ~/.ssh in the passwd entry's home, not $HOME, and the bench
// runs the user with a private $HOME (without -i, its login was refused: "Permission denied (publickey)").
// Every VM and volume is removed after each boot, and once more at the end, even when a boot failed or the bench
// was interrupted (Ctrl-C, SIGTERM: the boot under way is stopped, what it made removed, then the bench fails).
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildNetworkConfig, buildMetaData, newInstanceId } from '../src/cloud-init/meta-data.js';
import { buildUserData } from '../src/cloud-init/user-data.js';
import { roostPaths } from '../src/paths.js';
import { debianCreateArgs, debianImportArgs, type DebianGuest } from '../test/harness/fixtures.js';
import { freePort } from '../test/harness/net.js';
import { runAs, spawnOptionsFor, userEnv } from '../test/harness/run.js';
import type { TestUser } from '../test/harness/test-user.js';
import { virtInstallImportArgs } from './cli.js';
import { CLOUD_INIT_FINISHED, watchConsole } from './console-watch.js';
import { option } from './options.js';
import { probeSshBanner } from './ssh-banner.js';

/** One `roost create --wait ssh`; times in ms from its start. */
export interface RoostBoot {
  /** The guest's sshd sent its first banner through the forward. */
  bannerMs: number;
  /** roost printed its result: the VM is ready. */
  readyMs: number;
  /** cloud-init's final message reached the VM's serial log: the guest is ready from about then. */
  cloudInitFinishedMs: number;
  exitMs: number;
  /** How long roost itself says its wait took (`waitedMs` of its JSON). */
  waitedMs: number;
}

/** One virt-install and the ssh loop after it; times in ms from virt-install's start. */
export interface BaselineBoot {
  bannerMs: number;
  /** virt-install exited (the domain runs). */
  definedMs: number;
  /** The first `ssh … true` that succeeded. */
  loginMs: number;
  /** `cloud-init status --wait` returned after that login. */
  cloudInitMs: number;
}

export interface BootSshResult {
  rounds: number;
  roost: RoostBoot[];
  baseline: BaselineBoot[];
}

/** What a round needs to know. */
interface BootContext {
  user: TestUser;
  cli: string;
  guest: DebianGuest;
  image: string;
  /** Where the baseline's cloud-init files go (the user's). */
  dir: string;
  loginUser: string;
  /** The user's key: the private half's path for the baseline's ssh, the public half for its cloud-config. */
  keyPath: string;
  publicKey: string;
}

const PREFIX = 'bs-';
const IMAGE = `${PREFIX}img`;
const DISK_GIB = 20;
/** Under TCG a Debian boot takes minutes on a busy machine: past this, the round failed (`--boot-timeout S`). */
const BOOT_TIMEOUT_S = Number(option('boot-timeout', '900')) || 900;
const log = (m: string) => console.error(`bench: boot-ssh: ${m}`);

export async function benchBootSsh(opts: {
  user: TestUser;
  repoRoot: string;
  guest: DebianGuest;
  rounds?: number;
}): Promise<BootSshResult> {
  const { user, guest } = opts;
  const rounds = opts.rounds ?? 2;
  const cli = join(opts.repoRoot, 'dist', 'cli', 'main.js');
  const result: BootSshResult = { rounds, roost: [], baseline: [] };
  process.on('SIGINT', interrupt).on('SIGTERM', interrupt);
  try {
    const ctx = await prepare(user, cli, guest);
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? ['roost', 'virt-install'] : ['virt-install', 'roost'];
      for (const which of order) {
        if (interrupted) throw new BenchInterrupted();
        if (which === 'roost') result.roost.push(await roostBoot(ctx, i));
        else result.baseline.push(await baselineBoot(ctx, i));
        log(`round ${i + 1}/${rounds}: ${which} ${describeBoot(which, result)}`);
      }
    }
  } catch (e) {
    // A boot stopped by the signal fails in its own way (roost create exits 143): the signal is the reason.
    throw interrupted ? new BenchInterrupted() : e;
  } finally {
    await removeLeftovers(user, cli);
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
  }
  if (interrupted) throw new BenchInterrupted();
  return result;
}

/** The bench was stopped by a signal (after removing what it made): the run should end, not go on. */
export class BenchInterrupted extends Error {
  readonly code = 'BENCH_INTERRUPTED';
  constructor() {
    super('interrupted by a signal');
  }
}

/** The programs a boot is running: stopped on a signal, so that the cleanup can begin. */
const children = new Set<ChildProcess>();
let interrupted = false;

/** The first signal stops the boot under way (and the bench after its cleanup); a second exits at once. */
function interrupt(signal: NodeJS.Signals): void {
  if (interrupted) process.exit(signal === 'SIGINT' ? 130 : 143);
  interrupted = true;
  log(`${signal}: stopping; removing the VMs made so far (again to exit at once)`);
  for (const c of children) c.kill('SIGTERM');
}

/** The image roost creates from, the user's key, a folder for the baseline's files: nothing of it is timed. */
async function prepare(user: TestUser, cli: string, guest: DebianGuest): Promise<BootContext> {
  const dir = join(user.home, 'boot-ssh');
  const sshDir = join(user.home, '.ssh');
  for (const d of [dir, sshDir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) chownSync(d, user.uid, user.gid);
  }
  const key = join(sshDir, 'id_ed25519');
  await runAs(user, 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', key], {
    check: true,
    input: 'y\n',
  });
  await runAs(user, process.execPath, [cli, ...debianImportArgs(guest, IMAGE)], { check: true });
  const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
  return { user, cli, guest, image: IMAGE, dir, loginUser: guest.user ?? 'debian', keyPath: key, publicKey };
}

function describeBoot(which: string, r: BootSshResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (which === 'roost') {
    const b = r.roost.at(-1)!;
    return `ready ${s(b.readyMs)} (banner ${s(b.bannerMs)}), exit ${s(b.exitMs)}`;
  }
  const b = r.baseline.at(-1)!;
  return `defined ${s(b.definedMs)}, banner ${s(b.bannerMs)}, login ${s(b.loginMs)}, cloud-init done ${s(b.cloudInitMs)}`;
}

/** What a spawned program did, with moments on the bench's clock (`performance.now()`). */
interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
  /** When its first stdout bytes arrived (undefined: it printed nothing). */
  firstStdoutAt?: number;
  exitAt: number;
}

function spawnAs(user: TestUser, cmd: string, args: string[]): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...spawnOptionsFor(user), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const r: Spawned = { code: null, stdout: '', stderr: '', exitAt: 0 };
    child.stdout!.on('data', (b: Buffer) => {
      r.firstStdoutAt ??= performance.now();
      r.stdout += b.toString();
    });
    child.stderr!.on('data', (b: Buffer) => (r.stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ ...r, code, exitAt: performance.now() });
    });
  });
}

function mustSucceed(what: string, r: Spawned): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim()}`);
}

/** The banner's moment, once the boot is over (the probe saw it before the ready moment, or never). */
async function bannerAfter(probe: ReturnType<typeof probeSshBanner>, t0: number): Promise<number> {
  probe.stop();
  const seen = await probe.seen;
  if (!seen) throw new Error("the prober never saw the guest's sshd banner");
  return seen.at - t0;
}

async function roostBoot(ctx: BootContext, round: number): Promise<RoostBoot> {
  const name = `${PREFIX}roost-${round}`;
  const port = await freePort();
  const probe = probeSshBanner('127.0.0.1', port);
  const serialLog = join(roostPaths(userEnv(ctx.user)).logs, `${name}.serial.log`);
  const finished = watchConsole(serialLog, CLOUD_INIT_FINISHED);
  const t0 = performance.now();
  try {
    const r = await spawnAs(ctx.user, process.execPath, [
      ctx.cli,
      'create',
      name,
      '--image',
      ctx.image,
      ...debianCreateArgs(ctx.guest),
      '--disk',
      `${DISK_GIB}G`,
      '--port',
      `127.0.0.1:${port}:22`,
      '--wait',
      'ssh',
      '--wait-timeout',
      String(BOOT_TIMEOUT_S),
      '--json',
    ]);
    mustSucceed('roost create', r);
    const { waitedMs } = JSON.parse(r.stdout) as { waitedMs: number };
    finished.stop();
    const seen = await finished.seen;
    if (!seen) throw new Error(`cloud-init's final message never reached ${serialLog}`);
    return {
      bannerMs: await bannerAfter(probe, t0),
      readyMs: r.firstStdoutAt! - t0,
      cloudInitFinishedMs: seen.at - t0,
      exitMs: r.exitAt - t0,
      waitedMs,
    };
  } finally {
    probe.stop();
    finished.stop();
    await runAs(ctx.user, process.execPath, [ctx.cli, 'rm', '--force', name], { check: false });
  }
}

async function baselineBoot(ctx: BootContext, round: number): Promise<BaselineBoot> {
  const name = `${PREFIX}vi-${round}`;
  const port = await freePort();
  const seed = writeCloudInitFiles(ctx, name);
  const probe = probeSshBanner('127.0.0.1', port);
  const t0 = performance.now();
  try {
    const vi = await spawnAs(
      ctx.user,
      'virt-install',
      virtInstallImportArgs({
        name,
        memoryMiB: 1024,
        // As debianCreateArgs gives roost's VM.
        vcpus: 1,
        disk: `size=${DISK_GIB},backing_store=${ctx.guest.disk},backing_format=${ctx.guest.format},format=qcow2,bus=virtio`,
        kernel: ctx.guest,
        forward: { host: port, guest: 22 },
        mac: seed.mac,
        extra: ['--cloud-init', seed.option],
      }),
    );
    mustSucceed('virt-install', vi);
    const ssh = plainSshArgs(ctx.loginUser, port, ctx.keyPath);
    const loginAt = await pollSshLogin(ctx.user, ssh, t0 + BOOT_TIMEOUT_S * 1000);
    const ci = await spawnAs(ctx.user, 'ssh', [...ssh, 'cloud-init', 'status', '--wait']);
    // 2: done with recoverable errors (the same rule as roost's own wait).
    if (ci.code !== 0 && ci.code !== 2) mustSucceed('cloud-init status --wait', ci);
    return {
      bannerMs: await bannerAfter(probe, t0),
      definedMs: vi.exitAt - t0,
      loginMs: loginAt - t0,
      cloudInitMs: ci.exitAt - t0,
    };
  } finally {
    probe.stop();
    await removeDomain(ctx.user, name);
  }
}

/** The NoCloud files roost itself would write for this VM, for virt-install's `--cloud-init`. */
function writeCloudInitFiles(ctx: BootContext, name: string): { option: string; mac: string } {
  const mac = randomMac();
  const files = {
    'user-data': buildUserData({ user: ctx.loginUser, sshPublicKeys: [ctx.publicKey], hostname: name }),
    'meta-data': buildMetaData({ instanceId: newInstanceId(), hostname: name }),
    'network-config': buildNetworkConfig({ mac }),
  };
  const parts: string[] = [];
  for (const [key, text] of Object.entries(files)) {
    const path = join(ctx.dir, `${name}.${key}`);
    writeFileSync(path, text, { mode: 0o600 });
    if (process.getuid?.() === 0) chownSync(path, ctx.user.uid, ctx.user.gid);
    parts.push(`${key}=${path}`);
  }
  return { option: parts.join(','), mac };
}

/** A locally administered MAC in QEMU's range, as libvirt would pick. */
function randomMac(): string {
  const byte = () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
  return `52:54:00:${byte()}:${byte()}:${byte()}`;
}

/** `ssh` as a user's script would log in to a fresh VM: no prompts, a new host key accepted, the user's key. */
export function plainSshArgs(loginUser: string, port: number, keyPath: string): string[] {
  return [
    '-i',
    keyPath,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(port),
    `${loginUser}@127.0.0.1`,
  ];
}

/** `until ssh … true; do sleep 1; done`: the moment the first login succeeded. */
async function pollSshLogin(user: TestUser, ssh: string[], deadline: number): Promise<number> {
  let last = '';
  while (performance.now() < deadline && !interrupted) {
    const r = await spawnAs(user, 'ssh', [...ssh, 'true']);
    if (r.code === 0) return r.exitAt;
    last = r.stderr.trim();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`no ssh login within ${BOOT_TIMEOUT_S} s (last: ${last})`);
}

async function virsh(user: TestUser, args: string[]) {
  return runAs(user, 'virsh', ['-c', 'qemu:///session', ...args], { check: false });
}

/** Destroys and undefines a baseline domain with its disk (a failed boot too: errors are ignored). */
async function removeDomain(user: TestUser, name: string): Promise<void> {
  await virsh(user, ['destroy', name]);
  const rm = await virsh(user, ['undefine', name, '--remove-all-storage']);
  if (rm.code !== 0) await virsh(user, ['undefine', name]);
}

/** Whatever a failed round left: every bench domain of this daemon, its disk, and the imported image. */
async function removeLeftovers(user: TestUser, cli: string): Promise<void> {
  const names = (await virsh(user, ['list', '--all', '--name'])).stdout
    .split('\n')
    .map((n) => n.trim())
    .filter((n) => n.startsWith(PREFIX));
  for (const n of names) {
    await runAs(user, process.execPath, [cli, 'rm', '--force', n], { check: false });
    await removeDomain(user, n);
  }
  await runAs(user, process.execPath, [cli, 'image', 'rm', IMAGE], { check: false });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
/** The most roost's ready may lag behind the guest being ready (issue 22). */
export const LATENCY_TARGET_MS = 250;

/** The "Boot to ssh" section of BENCHMARKS.md. */
export function bootSshSection(r: BootSshResult): string {
  const secs = (xs: number[]) =>
    `${(median(xs) / 1000).toFixed(1)} <sub>(${(Math.min(...xs) / 1000).toFixed(1)}–${(Math.max(...xs) / 1000).toFixed(1)})</sub>`;
  const msOf = (xs: number[]) =>
    `${median(xs).toFixed(0)} <sub>(${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})</sub>`;
  const roostReady = r.roost.map((b) => b.readyMs);
  const login = r.baseline.map((b) => b.loginMs);
  const ratio = median(login) / median(roostReady);
  const lag = r.roost.map((b) => b.readyMs - b.cloudInitFinishedMs);
  const bannerLag = r.roost.map((b) => b.readyMs - b.bannerMs);
  const baselineBannerLag = r.baseline.map((b) => b.loginMs - b.bannerMs);
  const met = median(lag) <= LATENCY_TARGET_MS;
  return `## Boot to ssh

| benchmark | roost | baseline | result | target | met |
|---|---:|---:|---:|---|:---:|
| Debian guest, start to a working ssh login (s): \`roost create --wait ssh\` (ready reported) vs \`virt-install --import --cloud-init\` + an ssh loop (first login) | ${secs(roostReady)} | ${secs(login)} | **${ratio.toFixed(2)}×** faster | — | — |
| readiness after the guest is ready (ms): roost's ready minus cloud-init's final message on the guest's serial console | ${msOf(lag)} | — | **${median(lag).toFixed(0)} ms** | ≤ ${LATENCY_TARGET_MS} ms | ${met ? 'yes' : '**no**'} |
| for comparison: after the guest's sshd first sent its banner (ms): roost's ready (cloud-init done too) vs the loop's first login | ${msOf(bannerLag)} | ${msOf(baselineBannerLag)} | — | — | — |
| for comparison: start to the guest's first sshd banner (s): the same guest's boot either way | ${secs(r.roost.map((b) => b.bannerMs))} | ${secs(r.baseline.map((b) => b.bannerMs))} | — | — | — |
| for comparison: start to cloud-init done (s): roost's ready vs the loop's first login + \`cloud-init status --wait\` | ${secs(roostReady)} | ${secs(r.baseline.map((b) => b.cloudInitMs))} | ${(median(r.baseline.map((b) => b.cloudInitMs)) / median(roostReady)).toFixed(2)}× | — | — |
| for comparison: roost start to exit (s) vs virt-install start to exit (the domain runs) | ${secs(r.roost.map((b) => b.exitMs))} | ${secs(r.baseline.map((b) => b.definedMs))} | — | — | — |

${r.rounds} rounds (a Debian boot under TCG takes minutes), alternating which tool goes first; medians (range in small
print). Each makes the same VM of the Debian test guest as the same unprivileged user against the same session
daemon: its kernel booted directly, 1 GiB, one vCPU (two wedge now and then under this QEMU's TCG:
docs/test-guests.md), a ${DISK_GIB} GiB qcow2 overlay on the same image, a virtio passt NIC
forwarding 127.0.0.1:PORT → 22, the same cloud-config (roost's, written to files for virt-install's
\`--cloud-init user-data=…,meta-data=…,network-config=…\`) with the user's own key. roost is timed from its start to
its JSON result (\`roost create … --wait ssh --json\`: a login works and cloud-init is done); the baseline from
virt-install's start to the first success of \`ssh -o BatchMode=yes … true\` run every second after it, as a script
would.

The guest is ready when cloud-init has finished: that is what \`--wait ssh\` promises, and what a script that logs
in at the first chance would otherwise race. cloud-init prints its final message on the serial console at the end
of its last stage, just before it writes the records \`cloud-init status\` reads; the bench reads roost's serial log
of the VM every 10 ms and notes when that line arrives (bench/console-watch.ts): the readiness row is roost's
ready moment minus that one, per boot. A prober also opens a connection to the forwarded port every 20 ms and notes
when the guest's sshd first sends its \`SSH-2.0-\` banner (through passt the host port accepts before the guest
listens: the banner is the signal): sshd starts before cloud-init's last stages run, so a ready that includes
cloud-init comes seconds after the banner under TCG, and the banner row is for comparison only.
`;
}
