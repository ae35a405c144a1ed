// roost start NAME: boot a defined VM.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('start')
    .description('start a VM')
    .argument('<name>', 'VM name')
    .addHelpText('after', '\nExample:\n  roost start web')
    .action(async (name, _opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { startVm } = await import('../../vm/start.js');
        const r = await startVm(await context(), name);
        out.result(r, () => (r.alreadyRunning ? `${name} was already running` : `${name} started`));
      }),
    );
}
