import { CommanderError, type Command } from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from './commands/index.js';
import { buildProgram, commandNamedIn } from './program.js';

/** Every command of the tree with its path from the top: ['port', 'add'], ['host', 'bridge-setup'], … */
function walk(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((sub) => {
    const p = [...path, sub.name()];
    return [{ path: p, cmd: sub as Command }, ...walk(sub as Command, p)];
  });
}

describe('the command tree', () => {
  afterEach(() => vi.restoreAllMocks());

  it("says package.json's version for --version: one place to change it", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(buildProgram(['--version']).version()).toBe(pkg.version);
  });

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

describe('defining only the command that runs', () => {
  const top = (args: string[]) => buildProgram(args).commands.map((c) => c.name());

  it("lists each command's real name and aliases (what its define() registers)", () => {
    for (const entry of COMMANDS) {
      const program = buildProgram(['--help']);
      const cmd = program.commands.find((c) => c.name() === entry.names[0]);
      expect(cmd, entry.names[0]).toBeDefined();
      expect([cmd!.name(), ...cmd!.aliases()]).toEqual(entry.names);
    }
    expect(top([]).length).toBe(COMMANDS.length);
  });

  it('defines just the named command, after global options, by name or alias', () => {
    expect(top(['ip', 'web', '--json'])).toEqual(['ip']);
    expect(top(['-c', 'qemu:///session', '--json', '-q', 'list'])).toEqual(['ls']);
    expect(top(['--connect=qemu:///session', 'port', 'add', 'web', '8080:80'])).toEqual(['port']);
  });

  it('defines them all for help, no command, a typo or anything unclear', () => {
    for (const args of [[], ['--help'], ['-V'], ['sl'], ['help', 'ls'], ['-qc', 'qemu:///session', 'ls']])
      expect(top(args).length, args.join(' ')).toBe(COMMANDS.length);
    expect(commandNamedIn(['--', 'ls'])).toBeUndefined();
  });

  it('parses the named command as the whole table would', async () => {
    const program = buildProgram(['ls', '--bogus']);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const thrown = await program.parseAsync(['ls', '--bogus'], { from: 'user' }).catch((e: unknown) => e);
    expect((thrown as CommanderError).code).toBe('commander.unknownOption');
    vi.restoreAllMocks();
  });
});
