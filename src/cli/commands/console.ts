// roost console NAME: the serial console, raw, until Ctrl-].
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { stdoutStream, writeStderr } from '../stdio.js';

export function define(program: Command): void {
  program
    .command('console')
    .description('attach to the serial console of a running VM (Ctrl-] to leave)')
    .argument('<name>', 'VM name')
    .option('--force', 'take the console over from another client')
    .addHelpText(
      'after',
      '\nExamples:\n  roost console web      # press Enter for a prompt; Ctrl-] leaves\n  roost logs web         # what it printed so far, without attaching',
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { attachConsole } = await import('../../vm/console.js');
        const ctx = await context();
        if (process.stdin.isTTY)
          writeStderr(`Connected to ${name}'s serial console. Escape character is ^]\n`);
        const why = await attachConsole(ctx, name, {
          input: process.stdin,
          output: stdoutStream(),
          force: opts.force,
        });
        if (process.stdin.isTTY) writeStderr('\n');
        if (why === 'closed')
          out.warn(`the console of '${name}' closed (the VM stopped or another client took it)`);
      }),
    );
}
