// The built CLI's output when the reader goes away (`roost ls | head -1`, `roost --help | less` quit early): it
// stops quietly with its own exit code, not with a stack trace about EPIPE.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../harness/cli.js';

/** Runs the CLI with its stdout a pipe whose reading end is closed before the CLI writes a byte. */
function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Node needs ~30 ms before the CLI's first write: the pipe has no reader by then, so that write fails.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a closed stdout', () => {
  it.each([[['--help']], [['create', '--help']], [['--version']]])(
    'roost %j ends quietly, exit 0',
    async (args) => {
      const r = await runIntoClosedPipe(args);
      expect(r.stderr).not.toMatch(/EPIPE|Error/);
      expect(r.code).toBe(0);
    },
  );

  it('keeps the exit code of a usage error', async () => {
    const r = await runIntoClosedPipe(['create', 'x', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });
});
