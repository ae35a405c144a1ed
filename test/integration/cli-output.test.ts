// The built CLI's output when the reader goes away (`roost ls | head -1`, `roost --help | less` quit early): no
// stack trace about EPIPE. A closed stdout ends it with 141 (128 + SIGPIPE, as for any tool); a closed stderr only
// silences it: the command still does its work and exits with its own code.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../harness/cli.js';

/** Runs the CLI with one of its output streams a pipe whose reading end is closed before the CLI writes a byte. */
function runWithClosed(
  stream: 'stdout' | 'stderr',
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Node starts up before the CLI's first write: the pipe has no reader by then, so that write fails.
    child[stream].destroy();
    let stdout = '';
    let stderr = '';
    if (stream !== 'stdout') child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    if (stream !== 'stderr') child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a closed stdout', () => {
  it.each([[['--help']], [['create', '--help']], [['--version']]])(
    'roost %j stops with 141, as a tool killed by SIGPIPE, and says nothing',
    async (args) => {
      const r = await runWithClosed('stdout', args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(141);
    },
  );

  it('leaves a usage error its exit code (its message goes to stderr)', async () => {
    const r = await runWithClosed('stdout', ['create', 'x', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });
});

describe('a closed stderr', () => {
  it('does not stop the command: its result still comes out, with its exit code', async () => {
    const r = await runWithClosed('stderr', ['--version']);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.code).toBe(0);
  });

  it('keeps the exit code of a usage error whose message had nowhere to go', async () => {
    expect((await runWithClosed('stderr', ['create', 'x', '--bogus'])).code).toBe(2);
  });
});
