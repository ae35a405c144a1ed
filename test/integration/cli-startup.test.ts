// What every start of the built CLI loads of Node itself. Each command is defined at start-up (all of them for
// --help and --version), so one static import in one command's file is paid by every command: `node:tty` loads
// net and the stream machinery, cli-progress loads node:readline — about 10 ms of `roost ls` on the benchmark
// machine (BENCHMARKS.md: its start-up target). Commands load such modules inside their action instead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI } from '../harness/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'roost-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Node's built-in modules the CLI loaded for these arguments (process.moduleLoadList, written at exit). */
function builtinsLoadedBy(args: string[], exitCode: number): string[] {
  assertBuilt();
  const out = join(dir, `modules-${args.join('_').replace(/\W/g, '')}.txt`);
  const hook = join(dir, 'hook.cjs');
  writeFileSync(
    hook,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')));\n`,
  );
  const r = spawnSync(process.execPath, ['-r', hook, CLI, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(exitCode);
  return readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('NativeModule '))
    .map((l) => l.slice('NativeModule '.length));
}

const HEAVY = ['net', 'tty', 'readline', 'stream', 'child_process', 'http', 'https', 'crypto', 'zlib'];

// --version defines every command (so every command file's static imports load); `ls --json` with a URI it
// refuses runs ls's whole start-up and its error path, without a daemon; so does `apply`, whose use case loads
// create's, edit's and remove's code only when the plan has something to do (src/vm/apply-run.ts). (--help is
// left out: commander reads the terminal's width from process.stdout, which is a net.Socket for a pipe.)
const CASES: [string[], number][] = [
  [['--version'], 0],
  [['ls', '--json', '-c', 'qemu:///nonexist'], 2],
  [['apply', 'vms.yaml', '--json', '-c', 'qemu:///nonexist'], 2],
];

describe('a start of the CLI', () => {
  for (const [args, code] of CASES) {
    it(`roost ${args.join(' ')} loads none of ${HEAVY.join(', ')}`, () => {
      const loaded = builtinsLoadedBy(args, code);
      expect(loaded.length).toBeGreaterThan(10); // the hook saw the list
      expect(loaded.filter((m) => HEAVY.includes(m))).toEqual([]);
    });
  }
});
