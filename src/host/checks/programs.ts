// Installed programs and their versions: the libvirt daemon, QEMU and passt, each asked with `--version`.
// Parsing is kept apart from running so that every distribution's output can be tested as a string.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { CheckResult } from './types.js';

/** passt's libvirt backend needs QEMU ≥ 7.2 (its `-netdev stream`). */
export const MIN_QEMU: readonly [number, number] = [7, 2];

export interface ProgramOutput {
  path: string;
  /** stdout and stderr together (some builds print the version on stderr). */
  output: string;
}

/**
 * Runs `path --version` (argument array, no shell) with a time limit; rejects when it cannot run. A program that
 * prints nothing into a pipe is asked again through `stdbuf -o0`: Debian 13's passt buffers its version and
 * exits without flushing it unless stdout is a terminal.
 */
export async function programVersion(path: string, timeoutMs = 5_000): Promise<ProgramOutput> {
  const first = await runForVersion(path, [], timeoutMs);
  if (first.output.trim()) return first;
  const stdbuf = findProgram('stdbuf', ['/usr/bin', '/bin']);
  if (!stdbuf) return first;
  const again = await runForVersion(stdbuf, ['-o0', path], timeoutMs).catch(() => first);
  return { path, output: again.output };
}

function runForVersion(program: string, prefix: string[], timeoutMs: number): Promise<ProgramOutput> {
  const path = prefix.at(-1) ?? program;
  return new Promise((resolve, reject) => {
    execFile(
      program,
      [...prefix, '--version'],
      { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } },
      (err, out, errOut) => {
        // passt and some QEMU builds exit non-zero after printing their version: the text is what counts.
        const output = `${out}${errOut}`;
        if (err && !output.trim()) reject(err);
        else resolve({ path, output });
      },
    );
  });
}

/** The first executable named `name` in `dirs` and then $PATH. */
export function findProgram(
  name: string,
  dirs: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  for (const dir of [...dirs, ...(env.PATH ?? '').split(delimiter)]) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** "/usr/sbin/libvirtd (libvirt) 11.3.0" → "11.3.0". */
export function parseLibvirtVersion(output: string): string | undefined {
  return /\(libvirt\)\s+(\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1];
}

/** "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)" → "10.0.2". */
export function parseQemuVersion(output: string): string | undefined {
  return /QEMU emulator version\s+(\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1];
}

/**
 * passt's first line: "passt 2024_06_24.1ee2eca" — or "passt unknown version" on Debian 12's build, which is
 * a working passt all the same. Returns undefined for text that is not passt's.
 */
export function parsePasstVersion(output: string): { version: string | null } | undefined {
  const first = output.trim().split('\n')[0]?.trim() ?? '';
  const m = /^passt\s+(.+)$/.exec(first);
  if (!m) return undefined;
  const v = m[1]!.trim();
  return { version: /^unknown( version)?$/i.test(v) ? null : v };
}

/** Compares dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: readonly number[] | string): number {
  const pa = a.split('.').map(Number);
  const pb = typeof b === 'string' ? b.split('.').map(Number) : b;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

// ---- the checks ---------------------------------------------------------------------------------------------

export function libvirtCheck(found: ProgramOutput | undefined | Error, fix: string): CheckResult {
  const base = { id: 'libvirt', title: 'libvirt installed' };
  if (!found) {
    return {
      ...base,
      status: 'fail',
      detail: 'no libvirt daemon (virtqemud or libvirtd) is installed: roost needs one to run VMs',
      fix,
    };
  }
  if (found instanceof Error) {
    return { ...base, status: 'fail', detail: `the libvirt daemon does not run: ${found.message}`, fix };
  }
  const v = parseLibvirtVersion(found.output);
  return {
    ...base,
    status: 'ok',
    detail: v ? `${found.path} ${v}` : `${found.path} (version not reported: ${firstLine(found.output)})`,
  };
}

export function qemuCheck(found: ProgramOutput | undefined | Error, fix: string): CheckResult {
  const base = { id: 'qemu', title: 'QEMU ≥ 7.2' };
  if (!found) return { ...base, status: 'fail', detail: 'qemu-system-x86_64 is not installed', fix };
  if (found instanceof Error) {
    return { ...base, status: 'fail', detail: `qemu-system-x86_64 does not run: ${found.message}`, fix };
  }
  const v = parseQemuVersion(found.output);
  if (!v) {
    return {
      ...base,
      status: 'warn',
      detail: `${found.path} did not report a version ("${firstLine(found.output)}"); passt needs QEMU ≥ ${MIN_QEMU.join('.')}`,
    };
  }
  if (compareVersions(v, MIN_QEMU) < 0) {
    return {
      ...base,
      status: 'fail',
      detail: `QEMU ${v} is too old: passt networking needs QEMU ≥ ${MIN_QEMU.join('.')}`,
      fix,
    };
  }
  return { ...base, status: 'ok', detail: `QEMU ${v} (${found.path})` };
}

export function passtCheck(found: ProgramOutput | undefined | Error, fix: string): CheckResult {
  const base = { id: 'passt', title: 'passt installed' };
  const why = "roost's default networking (user-mode with port forwards) runs through passt";
  if (!found) return { ...base, status: 'fail', detail: `passt is not installed: ${why}`, fix };
  if (found instanceof Error) {
    return { ...base, status: 'fail', detail: `passt does not run: ${found.message}`, fix };
  }
  const p = parsePasstVersion(found.output);
  if (!p) {
    return {
      ...base,
      status: 'warn',
      detail: `${found.path} does not look like passt ("${firstLine(found.output)}")`,
      fix,
    };
  }
  return {
    ...base,
    status: 'ok',
    detail: p.version
      ? `passt ${p.version} (${found.path})`
      : `${found.path} (this build reports "unknown version", as Debian 12's does)`,
  };
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.trim() ?? '';
}
