import { CommanderError, type Command } from '@commander-js/extra-typings';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from './program.js';

/** Every command of the tree with its path from the top: ['port', 'add'], ['host', 'bridge-setup'], … */
function walk(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((sub) => {
    const p = [...path, sub.name()];
    return [{ path: p, cmd: sub as Command }, ...walk(sub as Command, p)];
  });
}

describe('the command tree', () => {
  afterEach(() => vi.restoreAllMocks());

  it('has nested commands (the case commander leaves exiting with 1)', () => {
    const paths = walk(buildProgram()).map((c) => c.path.join(' '));
    expect(paths).toEqual(expect.arrayContaining(['port add', 'image pull', 'host bridge-setup']));
  });

  it('gives every command a --help with examples', () => {
    const without = walk(buildProgram()).flatMap(({ path, cmd }) => {
      let text = '';
      cmd.configureOutput({ writeOut: (s) => (text += s) });
      cmd.outputHelp();
      return /\nExamples:\n {2}roost /.test(text) ? [] : [path.join(' ')];
    });
    expect(without).toEqual([]);
  });

  it('turns a usage error anywhere in it into an exception, which main.ts makes exit 2', async () => {
    // Commander prints the error itself; keep the test output clean.
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => {
      throw new Error('process.exit called: commander exited instead of throwing');
    }) as never);
    for (const { path } of walk(buildProgram())) {
      const program = buildProgram();
      const thrown = await program.parseAsync([...path, '--no-such-option'], { from: 'user' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(thrown, path.join(' ')).toBeInstanceOf(CommanderError);
      // Non-zero: a usage error, not help or --version.
      expect((thrown as CommanderError).exitCode, path.join(' ')).toBeGreaterThan(0);
    }
    expect(exit).not.toHaveBeenCalled();
  });
});
