// What a session daemon that died part way through starting a VM leaves behind, found and removed.
//
// libvirt starts a VM's passt before its QEMU. A daemon killed in between never records the VM as running, so
// the daemon that starts next does not know that passt: it runs on (its parent gone, PPID 1), holding the VM's
// host ports. It is the user's own process, started with
// `--socket $RT/libvirt/qemu/run/passt/ID-NAME-ALIAS.socket` (ID-NAME is libvirt's "short name": the domain id
// and the first 20 characters of the name). A passt like that whose ID-NAME is no running domain's belongs to a
// VM that no longer runs: roost ends it. The same daemon death can leave the VM's QEMU (`-pidfile $RT/…/NAME.pid`),
// its state files in libvirt's runtime directory, and its QEMU log; a rollback removes those of its own VM.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { libvirtRuntimeDir } from '../libvirt/dialers/socket-path.js';
import { parseUri } from '../libvirt/uri.js';
import { ListDomainsFlags, type Domain } from '../libvirt/types.js';
import type { VmContext } from './context.js';

/** A process libvirt started for a VM: its passt (by socket path) or its QEMU (by pid file). */
export interface VmProcess {
  pid: number;
  kind: 'passt' | 'qemu';
  /** For passt: libvirt's socket path, which names the VM (short name). For QEMU: its pid file, NAME.pid. */
  file: string;
}

/** libvirt's run directory of the session QEMU driver, or undefined when the connection is not a local session. */
export function qemuRunDir(ctx: Pick<VmContext, 'uri' | 'env'>): string | undefined {
  try {
    const u = parseUri(ctx.uri);
    if (u.scope !== 'session' || u.transport !== 'unix') return undefined;
  } catch {
    return undefined;
  }
  return join(libvirtRuntimeDir(ctx.env), 'qemu', 'run');
}

/** The user's passt and QEMU processes that libvirt started from `runDir` (read from /proc). */
export function libvirtVmProcesses(runDir: string, uid = process.getuid?.() ?? -1): VmProcess[] {
  const found: VmProcess[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8');
      const kind = comm.startsWith('passt') ? 'passt' : comm.startsWith('qemu') ? 'qemu' : undefined;
      if (!kind) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const file = kind === 'passt' ? argAfter(argv, '--socket') : argAfter(argv, '-pidfile');
      const dir = kind === 'passt' ? join(runDir, 'passt') : runDir;
      if (file && dirname(file) === dir) found.push({ pid: Number(entry), kind, file });
    } catch {
      // It exited while we looked, or is not ours to read.
    }
  }
  return found;
}

function argAfter(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

/** The processes of `procs` that no running domain of `running` owns. */
export function strayProcesses(procs: VmProcess[], running: Domain[]): VmProcess[] {
  // A passt socket is named after libvirt's short name: the domain id, '-', the name's first 20 characters.
  const shortNames = running.filter((d) => d.id > 0).map((d) => `${d.id}-${d.name.slice(0, 20)}-`);
  const names = new Set(running.map((d) => `${d.name}.pid`));
  return procs.filter((p) =>
    p.kind === 'passt'
      ? !shortNames.some((s) => basename(p.file).startsWith(s))
      : !names.has(basename(p.file)),
  );
}

/**
 * Ends the passt processes of VMs that no longer run, and removes their socket and pid file; with `qemuOf`, also
 * a QEMU of that VM that no domain owns (only the VM being rolled back: a QEMU holds a guest's memory, so roost
 * ends none it did not just start). Asks the daemon for its running domains only when libvirt runs any such
 * process at all. Returns what it ended.
 */
export async function endStrayProcesses(
  ctx: VmContext,
  runDir: string,
  qemuOf?: string,
): Promise<VmProcess[]> {
  const procs = libvirtVmProcesses(runDir).filter(
    (p) => p.kind === 'passt' || (qemuOf !== undefined && basename(p.file) === `${qemuOf}.pid`),
  );
  if (procs.length === 0) return [];
  const stray = strayProcesses(procs, await ctx.client.listDomains(ListDomainsFlags.ACTIVE));
  for (const p of stray) signal(p.pid, 'SIGTERM');
  // Their ports are free only once they are gone: the caller binds them next.
  if (!(await exited(stray, 2_000))) {
    for (const p of stray) signal(p.pid, 'SIGKILL');
    await exited(stray, 1_000);
  }
  for (const p of stray) {
    if (p.kind === 'passt') {
      rmSync(p.file, { force: true });
      rmSync(p.file.replace(/\.socket$/, '-passt.pid'), { force: true });
    }
  }
  return stray;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}

/** Whether every process ended (an exited one its parent has not reaped yet counts: it holds nothing). */
async function exited(procs: VmProcess[], withinMs: number): Promise<boolean> {
  const end = Date.now() + withinMs;
  for (;;) {
    if (procs.every((p) => !running(p.pid))) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function running(pid: number): boolean {
  try {
    // The state is the field after the command name, which is in parentheses and may hold anything.
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Files libvirt keeps about a running VM and its QEMU log, removed for a VM that a rollback undefined: a daemon
 * that died while starting it never cleaned them. They are named after the VM (NAME.pid, NAME.xml and the
 * NAME.xml.new it was writing) or after its short name (ID-NAME: the guest-agent channel directory, the private
 * directory with QEMU's monitor socket and master key); a short name of a running domain is left alone.
 */
export async function removeRuntimeFiles(ctx: VmContext, runDir: string, name: string): Promise<void> {
  for (const f of [`${name}.pid`, `${name}.xml`, `${name}.xml.new`]) rmSync(join(runDir, f), { force: true });
  const running = new Set(
    (await ctx.client.listDomains(ListDomainsFlags.ACTIVE)).map((d) => `${d.id}-${d.name.slice(0, 20)}`),
  );
  const short = name.slice(0, 20);
  const home = ctx.env.HOME;
  const config = ctx.env.XDG_CONFIG_HOME || (home ? join(home, '.config') : undefined);
  const cache = ctx.env.XDG_CACHE_HOME || (home ? join(home, '.cache') : undefined);
  removeShortNamed(join(runDir, 'channel'), '', short, running);
  if (config) removeShortNamed(join(config, 'libvirt', 'qemu', 'lib'), 'domain-', short, running);
  if (cache) rmSync(join(cache, 'libvirt', 'qemu', 'log', `${name}.log`), { force: true });
}

/** Removes PREFIX + ID-SHORT entries of `dir` whose ID-SHORT is no running domain's. */
function removeShortNamed(dir: string, prefix: string, short: string, running: Set<string>): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const m = /^(\d+)-(.*)$/.exec(e.slice(prefix.length));
    if (!m || m[2] !== short || running.has(`${m[1]}-${m[2]}`)) continue;
    rmSync(join(dir, e), { recursive: true, force: true });
  }
}
