import { readFileSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../program.js';
import { VERSION } from '../../version.js';
import { commandsOf, exampleArgv, exampleLines, helpTextOf } from './help.js';
import { manPage } from './man.js';
import * as help from './help.js';

/** The whole program with every action replaced by a no-op: parsing an example runs nothing. */
function stubbedProgram(): Command {
  const program = buildProgram();
  const quiet = { writeOut: () => {}, writeErr: () => {} };
  program.configureOutput(quiet);
  for (const { cmd } of commandsOf(program)) {
    cmd.configureOutput(quiet);
    if (cmd.name() !== 'help') cmd.action(() => {});
  }
  return program;
}

const everyCommand = commandsOf(buildProgram()).filter(({ cmd }) => cmd.name() !== 'help');

describe('every command has examples that parse', () => {
  it.each(everyCommand.map(({ path, cmd }) => [path.join(' '), cmd] as const))(
    'roost %s --help has an Examples block',
    (_path, cmd) => {
      expect(exampleLines(helpTextOf(cmd)).length).toBeGreaterThan(0);
    },
  );

  const examples = [buildProgram(), ...everyCommand.map((c) => c.cmd)].flatMap((cmd) =>
    exampleLines(helpTextOf(cmd))
      .map((line) => [line, exampleArgv(line)] as const)
      .filter((e): e is readonly [string, string[]] => e[1] !== undefined),
  );

  it('finds the examples (a sanity check of the reader)', () => {
    expect(examples.length).toBeGreaterThan(50);
    expect(examples.map(([, argv]) => argv)).toContainEqual(['exec', 'web', '--', 'uname', '-a']);
  });

  it.each(examples)('parses: %s', async (_line, argv) => {
    const thrown = await stubbedProgram()
      .parseAsync(argv, { from: 'user' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(thrown).toBeUndefined();
  });

  it('the reader splits as a shell would', () => {
    expect(exampleArgv(`roost ls --json | jq -r '.[] | .name'`)).toEqual(['ls', '--json']);
    expect(exampleArgv('echo hi | roost exec web --stdin -- tee /tmp/x')).toEqual([
      'exec',
      'web',
      '--stdin',
      '--',
      'tee',
      '/tmp/x',
    ]);
    expect(exampleArgv('ROOST_X=1 roost image pull fedora   # a comment')).toEqual([
      'image',
      'pull',
      'fedora',
    ]);
    expect(exampleArgv('roost completion bash > ~/x')).toEqual(['completion', 'bash']);
    expect(exampleArgv('source <(roost completion zsh)')).toEqual(['completion', 'zsh']);
    expect(exampleArgv('ssh web.roost')).toBeUndefined();
  });
});

describe('roost help COMMAND', () => {
  it("prints the command's help, examples included", async () => {
    let text = '';
    const program = buildProgram(['help', 'exec']);
    for (const cmd of [program, ...commandsOf(program).map((c) => c.cmd)])
      cmd.configureOutput({ writeOut: (s) => void (text += s) });
    await program.parseAsync(['help', 'exec'], { from: 'user' }).catch(() => undefined);
    expect(text).toMatch(/^Usage: roost exec \[options\] <name> <command\.\.\.>/);
    expect(text).toContain('Examples:\n  roost exec web -- uname -a');
  });
});

describe('the man page', () => {
  const page = manPage(buildProgram(), VERSION, help);

  it('has a section for every command, from the same table', () => {
    for (const { path } of everyCommand) expect(page).toContain(`.SS "roost ${path.join(' ')}"`);
    expect(page).toMatch(/^\.TH ROOST 1 /);
  });

  it('escapes roff: no line of help text becomes a request', () => {
    const body = page.split('\n').filter((l) => !/^\.(TH|SH|SS|nf|fi|nh|hy|PP|B|BR|br)\b/.test(l));
    expect(body.filter((l) => /^[.']/.test(l))).toEqual([]);
  });

  it('man/roost.1 in the repo is the page this program makes (npm run build writes it)', () => {
    const file = readFileSync(new URL('../../../man/roost.1', import.meta.url), 'utf8');
    expect(file).toBe(page);
  });
});
