// roost completion bash|zsh|fish: the shell's completion script; and the hidden `roost __complete WORDS…` the
// scripts call on every Tab (docs/completion.md).
import { Argument, type Command } from '@commander-js/extra-typings';
import { writeStdout } from '../stdio.js';

export function define(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish'] as const))
    .addHelpText(
      'after',
      `
Examples:
  roost completion bash > ~/.local/share/bash-completion/completions/roost
  roost completion zsh > "\${fpath[1]}/_roost"
  roost completion fish > ~/.config/fish/completions/roost.fish
  source <(roost completion bash)                 # this shell only
Tab then completes commands, options, VM names (from a daemon already running: Tab never starts one),
snapshot names, image names and host names.`,
    )
    .action(async (shell) => {
      const { completionScript } = await import('../complete-scripts.js');
      writeStdout(completionScript(shell));
    });
}

export const COMPLETE_COMMAND = '__complete';

/**
 * The hidden entry the scripts call: the words after `roost` up to the cursor, after `--`. `wholeTable` gives
 * the program with every command defined (program.ts defines only this one when it runs).
 */
export function defineComplete(program: Command, wholeTable: () => Command): void {
  program
    .command(COMPLETE_COMMAND, { hidden: true })
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words) => {
      // Nothing but candidates may reach the shell line: any failure offers nothing.
      try {
        const [{ complete, formatCompletion }, { liveValues }] = await Promise.all([
          import('../complete.js'),
          import('../complete-values.js'),
        ]);
        const line = words.length ? words : [''];
        const result = await complete(wholeTable(), line, liveValues(line));
        writeStdout(formatCompletion(result));
      } catch {
        writeStdout(':plain\n');
      }
    });
}
