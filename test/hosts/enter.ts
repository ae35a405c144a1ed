// Running commands inside the Debian 13 root (scripts/test-host.sh) from the hosts tests, and reading back what
// their scripts print.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

/** The built CLI as the root sees it: the repository is bind-mounted read-only at /roost. */
export const ROOST = ['node', '/roost/dist/cli/main.js'];

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv inside the Debian 13 root as its test user (no shell on the host side). `guests` is bind-mounted
 * read-only at the same path inside (ROOST_TEST_GUESTS_DIR). A timeout ends test-host.sh, which ends the
 * namespace and everything in it.
 */
export function inDebian13(argv: string[], guests: string, timeoutMs = 300_000): Promise<Run> {
  return new Promise((done) => {
    execFile(
      `${repo}/scripts/test-host.sh`,
      ['debian-13', '--', ...argv],
      {
        timeout: timeoutMs,
        maxBuffer: 16 << 20,
        env: { ...process.env, ROOST_TEST_GUESTS_DIR: guests, ROOST_TEST_HOST_ROOT: '0' },
      },
      (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A script's output split at its `== NAME` lines: NAME → the text up to the next such line. */
export function sections(stdout: string): Record<string, string | undefined> {
  const out: Record<string, string> = {};
  let name: string | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^== (\S+)$/.exec(line);
    if (head) {
      name = head[1]!;
      out[name] = '';
    } else if (name !== undefined) out[name] += `${line}\n`;
  }
  return out;
}
