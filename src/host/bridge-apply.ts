// Running the root commands of `roost host bridge-setup`: directly as root, else through sudo, always as an
// argument array; file contents go through stdin to tee, never through a shell.
import { spawn } from 'node:child_process';
import { RoostError } from '../errors.js';
import type { RootCommand, SetupStep } from './bridge-model.js';

/** How a root command is run by this process: directly as root, else through sudo (argument array). */
export function rootArgv(cmd: RootCommand, uid: number): string[] {
  return uid === 0 ? cmd.argv : ['sudo', '--', ...cmd.argv];
}

/** A line a user can paste: arguments quoted for a POSIX shell (display only; nothing runs through a shell). */
export function shellLine(cmd: RootCommand, uid: number): string {
  const q = (a: string) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const line = rootArgv(cmd, uid).map(q).join(' ');
  if (cmd.input === undefined) return line;
  const body = cmd.input.replace(/\n$/, '');
  return body.includes('\n')
    ? `printf '%s\\n' ${body.split('\n').map(q).join(' ')} | ${line} >/dev/null`
    : `echo ${q(body)} | ${line} >/dev/null`;
}

export interface AppliedCommand {
  argv: string[];
  code: number | null;
  stderr: string;
}

/** Runs one command (no shell), feeding `input` to its stdin; resolves with its exit code and stderr. */
export function runRootCommand(cmd: RootCommand, uid: number): Promise<AppliedCommand> {
  const argv = rootArgv(cmd, uid);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', (e) => resolve({ argv, code: null, stderr: e.message }));
    child.on('close', (code) => resolve({ argv, code, stderr: stderr.trim() }));
    // A command that exits without reading its input (EPIPE) is judged by its exit code, not by our write.
    child.stdin.on('error', () => {});
    child.stdin.end(cmd.input ?? '');
  });
}

/** Runs the commands of every step not yet done, in order; stops at the first failure (RoostError). */
export async function applySteps(
  steps: readonly SetupStep[],
  uid = process.getuid?.() ?? 0,
  run: (cmd: RootCommand, uid: number) => Promise<AppliedCommand> = runRootCommand,
): Promise<AppliedCommand[]> {
  const refused = steps.find((s) => !s.done && s.refused !== undefined);
  if (refused) {
    throw new RoostError('BRIDGE_SETUP_REFUSED', `${refused.title}: ${refused.refused}`, {
      hint: 'nothing was changed; fix this first and run roost host bridge-setup --apply again',
    });
  }
  const done: AppliedCommand[] = [];
  for (const step of steps) {
    if (step.done) continue;
    for (const cmd of step.commands) {
      const r = await run(cmd, uid);
      done.push(r);
      if (r.code !== 0) {
        throw new RoostError(
          'BRIDGE_SETUP_FAILED',
          `${step.title}: '${r.argv.join(' ')}' failed${r.code === null ? '' : ` (exit ${r.code})`}${r.stderr ? `: ${r.stderr}` : ''}`,
          {
            hint: 'fix the cause and run roost host bridge-setup --apply again (steps already done are skipped)',
          },
        );
      }
    }
  }
  return done;
}
