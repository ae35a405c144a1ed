// What runs as whom: read straight from /proc so tests can assert that QEMU, passt and the daemon are the
// test user's processes (rootless for real) and that nothing is left behind.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  uid: number;
  /** Short name from /proc/PID/comm (at most 15 characters). */
  comm: string;
  /** Full command line, arguments split. */
  argv: string[];
}

export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const uidLine = /^Uid:\s+(\d+)/m.exec(status);
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: Number(entry), uid: Number(uidLine?.[1] ?? -1), comm, argv });
    } catch {
      // The process exited while we looked: not ours to report.
    }
  }
  return out;
}

export function processesOf(uid: number, comm?: RegExp): ProcessInfo[] {
  return listProcesses().filter((p) => p.uid === uid && (!comm || comm.test(p.comm)));
}

export function uidOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls until `pred` holds or the time runs out; returns whether it held. */
export async function waitUntil(
  pred: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 50,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
