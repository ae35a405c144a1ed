// roost console NAME: the serial console, raw, until Ctrl-].
import type { Command } from '@commander-js/extra-typings';
import { RoostError } from '../../errors.js';
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
      runAction(cmd, async ({ context }) => {
        const { attachConsole } = await import('../../vm/console.js');
        const ctx = await context();
        if (process.stdin.isTTY)
          writeStderr(`Connected to ${name}'s serial console. Escape character is ^]\n`);
        const why = await attachConsole(ctx, name, {
          input: process.stdin,
          output: stdoutStream(),
          force: opts.force,
          notice: (line) => writeStderr(`roost: ${line}\n`),
        });
        if (process.stdin.isTTY) writeStderr('\n');
        // Ctrl-] and a VM that stopped end the console as expected; anything else is a failure (exit 1).
        if (why === 'stopped') writeStderr(`roost: VM '${name}' stopped; its console closed\n`);
        if (why === 'taken') {
          throw new RoostError(
            'CONSOLE_TAKEN',
            `another client took the console of '${name}' (the VM runs on)`,
            {
              hint: `roost console --force ${name} takes it back`,
            },
          );
        }
      }),
    );
}
