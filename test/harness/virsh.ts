// virsh against the test user's daemon: an independent witness for what our own client claims, and the
// tool the cleanup uses so that a bug in roost's client cannot hide a leak.
import { run, type RunResult } from './run.js';

export function virsh(
  uri: string,
  args: readonly string[],
  opts: { check?: boolean } = {},
): Promise<RunResult> {
  return run('virsh', ['--quiet', '-c', uri, ...args], { check: opts.check ?? true, timeoutMs: 60_000 });
}

export async function domainNames(uri: string): Promise<string[]> {
  const r = await virsh(uri, ['list', '--all', '--name']);
  return lines(r.stdout);
}

export async function poolNames(uri: string): Promise<string[]> {
  const r = await virsh(uri, ['pool-list', '--all', '--name']);
  return lines(r.stdout);
}

export async function volumeNames(uri: string, pool: string): Promise<string[]> {
  const r = await virsh(uri, ['vol-list', '--pool', pool], { check: false });
  // `vol-list` prints "name path" rows; a stopped pool lists nothing.
  return lines(r.stdout).map((l) => l.split(/\s+/)[0]!);
}

function lines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
