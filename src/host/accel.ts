// Deciding between KVM and TCG (software emulation).
//
// /dev/kvm existing is not enough: under nested virtualisation it can open fine and then hang the guest in early
// boot. So we boot a 512-byte guest that writes a line to its serial port and give it one second. A working KVM
// prints well within that, and so does TCG; a broken nested KVM either never prints or takes seconds to get
// through the BIOS, and a Linux kernel on it can then hang for good (at "Probing EDD"). Either way TCG is the
// better choice. The answer is cached per host boot (the kernel's boot_id), because it cannot change before a
// reboot and the probe costs up to a few seconds.
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePrivateFile } from '../private-file.js';

export type Accel = 'kvm' | 'tcg';

export interface AccelDecision {
  accel: Accel;
  /** One line a user can act on, e.g. why KVM was not chosen. */
  reason: string;
  /** The kernel boot this decision belongs to. */
  bootId: string;
  /** True when read from the cache rather than probed now. */
  cached: boolean;
}

export interface AccelProbeOptions {
  /** How long the KVM guest gets to print its line (default 1 s; a working KVM needs far less). */
  timeoutMs?: number;
  qemuBinary?: string;
  kvmDevice?: string;
  /** Cache file (default `$XDG_CACHE_HOME/roost/accel.json`); `null` disables the cache. */
  cacheFile?: string | null;
}

export const PROBE_MARKER = 'ROOST-ACCEL-PROBE-OK';
export const DEFAULT_PROBE_TIMEOUT_MS = 1_000;

/**
 * A BIOS boot sector (real mode, loaded at 0x7C00) that writes PROBE_MARKER to COM1 and halts.
 *   mov dx,0x3F8 / mov si,msg / next: lodsb / test al,al / jz done / out dx,al / jmp next / done: cli / hlt / jmp done
 */
export function probeBootSector(): Buffer {
  const code = [
    0xba, 0xf8, 0x03, 0xbe, 0x12, 0x7c, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xfa, 0xf4, 0xeb,
    0xfc,
  ];
  const sector = Buffer.alloc(512);
  Buffer.from(code).copy(sector, 0);
  sector.write(`${PROBE_MARKER}\n\0`, code.length, 'latin1');
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** Decides kvm or tcg for this user on this host boot, probing at most once per boot. */
export async function detectAccel(opts: AccelProbeOptions = {}): Promise<AccelDecision> {
  const bootId = readBootId();
  const cacheFile = opts.cacheFile === undefined ? defaultCacheFile() : opts.cacheFile;
  const hit = cacheFile ? readCache(cacheFile, bootId) : undefined;
  if (hit) return { ...hit, cached: true };

  const decision = await probe(opts, bootId);
  if (cacheFile) writeCache(cacheFile, decision);
  return decision;
}

async function probe(opts: AccelProbeOptions, bootId: string): Promise<AccelDecision> {
  const device = opts.kvmDevice ?? '/dev/kvm';
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `${device} does not exist (no hardware virtualisation, or the kvm module is not loaded): using TCG, which is much slower`
        : `${device} is not usable by this user (${code}): ${kvmAccessAdvice(device)}; using TCG, which is much slower`;
    return { accel: 'tcg', reason, bootId, cached: false };
  }
  const booted = await bootsWith('kvm', opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, opts.qemuBinary);
  if (booted === true)
    return { accel: 'kvm', reason: `${device} works: a probe guest booted under KVM`, bootId, cached: false };
  return {
    accel: 'tcg',
    reason: `${device} exists but a probe guest did not boot under KVM (${booted}); broken or very slow nested virtualisation is the usual cause: using TCG`,
    bootId,
    cached: false,
  };
}

/**
 * Boots the probe sector under `accel` and resolves true when its line appears on the serial port within the
 * time limit, or a short reason string otherwise. Exported for tests and for `roost doctor`.
 */
export async function bootsWith(
  accel: Accel,
  timeoutMs: number,
  qemuBinary = 'qemu-system-x86_64',
): Promise<true | string> {
  // node:child_process only when a probe runs: its answer is cached per boot, so most creates never need it.
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'roost-accel-'));
  const disk = join(dir, 'probe.img');
  writeFileSync(disk, probeBootSector());
  const args = [
    '-accel',
    accel,
    '-machine',
    'pc',
    '-m',
    '16',
    '-nodefaults',
    '-no-reboot',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-drive',
    `file=${disk},format=raw,if=ide,snapshot=on`,
  ];
  return new Promise((resolve) => {
    let out = '';
    let settled = false;
    const child = spawn(qemuBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const finish = (result: true | string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      resolve(result);
    };
    const timer = setTimeout(() => finish(`no output within ${timeoutMs} ms`), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      if (out.includes(PROBE_MARKER)) finish(true);
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', (e) => finish(`cannot run ${qemuBinary}: ${e.message}`));
    child.on('exit', (code) => finish(`qemu exited with ${code}: ${err.trim().split('\n')[0] ?? ''}`));
  });
}

/** What would give this user KVM: joining the device's group when that group may use it, else root's help. */
function kvmAccessAdvice(device: string): string {
  try {
    const st = statSync(device);
    const group = groupName(st.gid);
    if (st.gid !== 0 && (st.mode & 0o060) === 0o060 && group)
      return `join the '${group}' group (sudo usermod -aG ${group} $USER, then log in again)`;
  } catch {
    // Fall through to the general advice.
  }
  return `only root can open it; ask root to give the 'kvm' group access (udev rule: KERNEL=="kvm", GROUP="kvm", MODE="0660") and join it`;
}

function groupName(gid: number): string | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(gid));
    return line?.split(':')[0];
  } catch {
    return undefined;
  }
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function defaultCacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'roost', 'accel.json');
}

function readCache(file: string, bootId: string): AccelDecision | undefined {
  try {
    const d = JSON.parse(readFileSync(file, 'utf8')) as AccelDecision;
    if (d.bootId === bootId && (d.accel === 'kvm' || d.accel === 'tcg') && typeof d.reason === 'string')
      return d;
  } catch {
    // Missing or unreadable cache: probe again.
  }
  return undefined;
}

function writeCache(file: string, d: AccelDecision): void {
  try {
    const text = JSON.stringify({ accel: d.accel, reason: d.reason, bootId: d.bootId }) + '\n';
    writePrivateFile(file, text, { makeParent: true });
  } catch {
    // A cache we cannot write only costs a probe next time.
  }
}

/**
 * libvirt or QEMU refusing KVM: "does not support virt type 'kvm'" at define (the daemon's capabilities have no
 * KVM), "Could not access KVM kernel module" / "failed to initialize kvm" at start (QEMU cannot open /dev/kvm).
 */
export function isKvmRefusal(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (
      /virt type '?kvm'?|Could not access KVM kernel module|failed to initiali[sz]e kvm|KVM is not (available|supported)|no accelerator found/i.test(
        e.message,
      )
    )
      return true;
  }
  return false;
}

/** True when the daemon's domain capabilities (virConnectGetDomainCapabilities, default virt type) are KVM's. */
export function daemonOffersKvm(domcaps: string): boolean {
  return /<domain>\s*kvm\s*<\/domain>/.test(domcaps);
}

export interface AccelRetryOptions {
  /** The user asked for this accelerator (--accel kvm): a refusal is reported, not worked around. */
  forced?: boolean;
  /** Cache file to correct (as for detectAccel). */
  cacheFile?: string | null;
  /** Probes afresh, ignoring the cache (tests replace it). */
  probe?: () => Promise<AccelDecision>;
}

/**
 * Runs `step` (a define, a start) with `decision`. When libvirt or QEMU refuses KVM though the decision said
 * kvm — a cached answer gone stale within a boot (the kvm module unloaded, /dev/kvm's permissions changed), or a
 * daemon that sees the host differently — the daemon is believed: the host is probed afresh, the cache corrected,
 * and `step` runs once more with the new decision (tcg whenever the daemon refused kvm).
 */
export async function withAccelRetry<T>(
  decision: AccelDecision,
  step: (d: AccelDecision) => Promise<T>,
  opts: AccelRetryOptions = {},
): Promise<{ value: T; accel: AccelDecision }> {
  try {
    return { value: await step(decision), accel: decision };
  } catch (e) {
    if (opts.forced || decision.accel !== 'kvm' || !isKvmRefusal(e)) throw e;
    const accel = await refusedKvm(e, opts);
    return { value: await step(accel), accel };
  }
}

/** The decision once the daemon refused KVM: a fresh probe's reason when it finds KVM unusable too. */
async function refusedKvm(refusal: unknown, opts: AccelRetryOptions): Promise<AccelDecision> {
  const cacheFile = opts.cacheFile === undefined ? defaultCacheFile() : opts.cacheFile;
  const fresh = await (opts.probe ?? (() => detectAccel({ cacheFile: null })))().catch(() => undefined);
  const said = firstLine((refusal as Error).message);
  const decision: AccelDecision =
    fresh && fresh.accel === 'tcg'
      ? { ...fresh, cached: false }
      : {
          accel: 'tcg',
          reason: `libvirt refuses KVM (${said}): using TCG, which is much slower`,
          bootId: fresh?.bootId ?? readBootId(),
          cached: false,
        };
  if (cacheFile) writeCache(cacheFile, decision);
  return decision;
}

/**
 * `decision` checked against the daemon's domain capabilities: a kvm decision (from the cache, or a probe of a
 * /dev/kvm the daemon does not use) is replaced by tcg and the cache corrected when the daemon offers no KVM.
 * `roost doctor` must not show KVM as working while every create would be refused it.
 */
export function reconcileWithDaemon(
  decision: AccelDecision,
  domcaps: string | null,
  cacheFile: string | null = defaultCacheFile(),
): AccelDecision {
  if (decision.accel !== 'kvm' || domcaps === null || daemonOffersKvm(domcaps)) return decision;
  const reason = (note: string) =>
    `the libvirt daemon offers no KVM (its domain capabilities are for plain QEMU)${note}: using TCG, which is much slower`;
  const corrected: AccelDecision = {
    accel: 'tcg',
    reason: reason(decision.cached ? ', though the cache for this boot said kvm' : ''),
    bootId: decision.bootId,
    cached: false,
  };
  // The cache keeps the reason without the note about itself: every later command repeats the cached reason,
  // and "the cache said kvm" would be false there (it says tcg from now on).
  if (cacheFile) writeCache(cacheFile, { ...corrected, reason: reason('') });
  return corrected;
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]!.trim();
}
