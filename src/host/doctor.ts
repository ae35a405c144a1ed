// roost doctor: every host fact roost depends on, checked at once, each with the command that fixes it.
//
// Checks are independent and run concurrently; the ones that need the daemon share one connection and one
// domain-capabilities answer. Each check's decision is a pure function in checks/ (tested with fixtures);
// this file only gathers the facts and puts the results in a fixed order.
import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { LibvirtClient } from '../libvirt/api.js';
import { findSessionDaemon } from '../libvirt/dialers/socket-path.js';
import { defaultUri } from '../libvirt/uri.js';
import { detectAccel as defaultDetectAccel, reconcileWithDaemon, type AccelDecision } from './accel.js';
import {
  bridgeConfCheck,
  bridgeHelperCheck,
  inspectBridgeConf,
  inspectBridgeHelper,
} from './checks/bridge.js';
import { parseDomainCaps } from './checks/domcaps.js';
import { findOvmfFiles, firmwareCheck } from './checks/firmware.js';
import { hostAccessCheck } from './checks/host-access.js';
import { installFixes, readOsRelease, type InstallFixes } from './checks/fixes.js';
import { decidePasstSupport, probePasstBackend } from './checks/passt-support.js';
import {
  findProgram,
  libvirtCheck,
  passtCheck,
  programVersion,
  qemuCheck,
  type ProgramOutput,
} from './checks/programs.js';
import { findVirtiofsd, hasSubuidRange, sharedFoldersCheck } from './checks/shared-folders.js';
import { socketPathCheck } from './checks/socket-paths.js';
import { VIRTIOFSD_DIRS, virtiofsCheck } from './checks/virtiofs.js';
import { ptyLockCheck } from './checks/pty-locks.js';
import { bridgeStepChecks } from './checks/bridge-steps.js';
import { gatherFacts, type HostFacts } from './bridge-setup.js';
import { accelCheck, userCheck } from './checks/system.js';
import type { CheckResult, DoctorReport } from './checks/types.js';

export type { CheckResult, CheckStatus, DoctorReport } from './checks/types.js';

export interface DoctorOptions {
  /** Opens the connection to check (the caller owns it and closes it). */
  connect: () => Promise<LibvirtClient>;
  /** The URI `connect` opens, for messages; default: $ROOST_CONNECT, $LIBVIRT_DEFAULT_URI, qemu:///session. */
  uri?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  fixes?: InstallFixes;
  detectAccel?: () => Promise<AccelDecision>;
  /** Longest wait for the daemon (connect + capabilities), default 20 s. */
  daemonTimeoutMs?: number;
  /** What the bridge steps are judged on (tests); default: read from this host. */
  bridgeFacts?: HostFacts;
}

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];
const BIN = ['/usr/bin', '/usr/local/bin', '/bin'];

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  const uri = opts.uri ?? defaultUri(env);
  const fixes = opts.fixes ?? installFixes(readOsRelease());

  const daemonBinary = installedDaemon(env);
  const qemuBinary = findProgram('qemu-system-x86_64', BIN, env);
  const passtBinary = findProgram('passt', [...BIN, ...SBIN], env);
  const virtiofsdBinary = findProgram('virtiofsd', VIRTIOFSD_DIRS, env);

  const [libvirt, qemu, passt, virtiofs, accelDecision, daemon] = await Promise.all([
    versionOf(daemonBinary).then((r) => libvirtCheck(r, fixes.libvirt)),
    versionOf(qemuBinary).then((r) => qemuCheck(r, fixes.qemu)),
    versionOf(passtBinary).then((r) => passtCheck(r, fixes.passt)),
    versionOf(virtiofsdBinary).then((r) => virtiofsCheck(r, fixes.virtiofsd)),
    (opts.detectAccel ?? (() => defaultDetectAccel()))().catch((e: Error) => e),
    withTimeout(daemonChecks(opts.connect, uri, fixes, daemonBinary), opts.daemonTimeoutMs ?? 20_000, uri),
  ]);
  // The daemon has the last word on KVM: a cached or probed kvm it does not offer is no ✓ (accel.ts).
  const accel =
    accelDecision instanceof Error
      ? accelCheck(accelDecision)
      : accelCheck(
          // An injected decision (tests) is not this user's cache: nothing to correct on disk.
          reconcileWithDaemon(accelDecision, daemon.domcaps, opts.detectAccel ? null : undefined),
          kvmGroupFix(env),
        );
  const checks: CheckResult[] = [
    userCheck(uid, env),
    libvirt,
    daemon.reachable,
    qemu,
    passt,
    daemon.passt,
    virtiofs,
    socketPathCheck(env, uid),
    ptyLockCheck(uid),
    accel,
    firmwareCheck(daemon.domcaps, findOvmfFiles(), fixes.ovmf),
    bridgeHelperCheck(inspectBridgeHelper(), fixes.bridgeHelper),
    bridgeConfCheck(inspectBridgeConf()),
    ...bridgeStepChecks(opts.bridgeFacts ?? gatherFacts({}), uid),
    hostAccessCheck({ libvirtVersion: daemon.libvirtVersion }),
    sharedFoldersCheck(
      daemon.libvirtVersion,
      findVirtiofsd(env),
      hasSubuidRange(env.USER ?? userInfo().username, uid),
    ),
  ];
  return { checks, ok: checks.every((c) => c.status !== 'fail') };
}

interface DaemonFacts {
  reachable: CheckResult;
  passt: CheckResult;
  /** The domain capabilities XML, or null when the daemon could not give it. */
  domcaps: string | null;
  /** The daemon's libvirt version, or null when it could not be asked. */
  libvirtVersion: number | null;
}

async function daemonChecks(
  connect: () => Promise<LibvirtClient>,
  uri: string,
  fixes: InstallFixes,
  daemonBinary: string | undefined,
): Promise<DaemonFacts> {
  const reachableBase = { id: 'daemon', title: 'libvirt daemon' };
  let client: LibvirtClient;
  try {
    client = await connect();
  } catch (e) {
    return unreachable(uri, e as Error, daemonBinary ? `virsh -c '${uri}' version` : fixes.libvirt);
  }
  try {
    const [lib, hv, domcaps] = await Promise.all([
      client.libVersion(),
      client.version(),
      domainCapabilities(client),
    ]);
    const reachable: CheckResult = {
      ...reachableBase,
      status: 'ok',
      detail: `${uri} answers: libvirt ${formatVersion(lib)}, QEMU ${formatVersion(hv)}`,
    };
    let decision = decidePasstSupport(domcaps, undefined, fixes.libvirt);
    if ('needsProbe' in decision) {
      const arch = domcaps === null ? undefined : parseDomainCaps(domcaps).arch;
      decision = decidePasstSupport(domcaps, await probePasstBackend(client, { arch }), fixes.libvirt);
    }
    if ('needsProbe' in decision) throw new Error('unreachable: the probe result decides');
    return { reachable, passt: decision.result, domcaps, libvirtVersion: Number(lib) };
  } catch (e) {
    return unreachable(uri, e as Error, `virsh -c '${uri}' version`);
  }
}

/** The capabilities of the default emulator; when libvirt cannot answer for KVM, those of plain QEMU (TCG). */
async function domainCapabilities(client: LibvirtClient): Promise<string | null> {
  try {
    return await client.domainCapabilities();
  } catch {
    try {
      return await client.domainCapabilities({ virttype: 'qemu' });
    } catch {
      return null;
    }
  }
}

function unreachable(uri: string, e: Error, fix: string): DaemonFacts {
  const message = e.message.replace(/\s*\n\s*/g, '; ');
  return {
    reachable: {
      id: 'daemon',
      title: 'libvirt daemon',
      status: 'fail',
      detail: `cannot talk to ${uri}: ${message}`,
      fix,
    },
    passt: {
      id: 'libvirt-passt',
      title: 'libvirt accepts passt',
      status: 'warn',
      detail: 'not checked: the libvirt daemon is unreachable',
    },
    domcaps: null,
    libvirtVersion: null,
  };
}

function withTimeout(p: Promise<DaemonFacts>, ms: number, uri: string): Promise<DaemonFacts> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<DaemonFacts>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(unreachable(uri, new Error(`no answer within ${ms / 1000} s`), `virsh -c '${uri}' version`)),
      ms,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The session daemon's path; an unreadable $PATH entry must not stop the other checks. */
function installedDaemon(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return findSessionDaemon(env)?.path;
  } catch {
    return findProgram('virtqemud', SBIN, {}) ?? findProgram('libvirtd', SBIN, {});
  }
}

async function versionOf(path: string | undefined): Promise<ProgramOutput | undefined | Error> {
  if (!path) return undefined;
  return programVersion(path).catch((e: Error) => e);
}

/** libvirt encodes versions as major·1e6 + minor·1e3 + micro. */
function formatVersion(v: bigint | number): string {
  const n = Number(v);
  return `${Math.floor(n / 1e6)}.${Math.floor(n / 1e3) % 1000}.${n % 1000}`;
}

/**
 * When /dev/kvm is group-accessible to a group other than root (Debian: 'kvm'), joining that group is the fix
 * for "not usable by this user". A root-only /dev/kvm has no such fix.
 */
function kvmGroupFix(env: NodeJS.ProcessEnv, device = '/dev/kvm'): string | undefined {
  try {
    const st = statSync(device);
    if (st.gid === 0 || (st.mode & 0o060) !== 0o060) return undefined;
    const group = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[2] === String(st.gid))?.[0];
    if (!group) return undefined;
    const user = env.USER || userInfo().username;
    return `sudo usermod -aG ${group} ${user}   # then log in again`;
  } catch {
    return undefined;
  }
}
