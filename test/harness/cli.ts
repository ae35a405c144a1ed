// Running the built `roost` CLI as the test user, the way a user would run it: their uid, their environment,
// the default connection (qemu:///session, autostarting their daemon like libvirt's own client does).
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAs, type RunResult } from './run.js';
import type { TestUser } from './test-user.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(repoRoot, 'dist', 'cli', 'main.js');

/** Fails fast when dist/ is missing or older than the source it was built from (`npm test` builds first). */
export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (npm test does it for you)`);
}

export function roost(
  user: TestUser,
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  assertBuilt();
  return runAs(user, process.execPath, [CLI, ...args], {
    check: false,
    timeoutMs: opts.timeoutMs ?? 120_000,
    input: opts.input,
  });
}

/** Like roost() but parses stdout as JSON and fails loudly on a non-zero exit. */
export async function roostJson<T>(
  user: TestUser,
  args: readonly string[],
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const r = await roost(user, [...args, '--json'], opts);
  if (r.code !== 0) throw new Error(`roost ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function mtimeOf(path: string): number {
  return statSync(path).mtimeMs;
}
