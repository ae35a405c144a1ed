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
      runAction(cmd, async ({ out, context, globals }) => {
        const { startVm } = await import('../../vm/start.js');
        const ctx = await context();
        const r = await startVm(ctx, name);
        if (r.autoPorts) {
          const { spawnAutoPortsWatcher, readAutoPorts } = await import('../../vm/auto-ports.js');
          if (!readAutoPorts(ctx.paths, name))
            spawnAutoPortsWatcher(ctx.paths, name, process.argv[1]!, globals.connect);
        }
        out.result(r, () => (r.alreadyRunning ? `${name} was already running` : `${name} started`));
      }),
    );
}
