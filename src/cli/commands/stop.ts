// roost stop NAME: shut a VM down (ACPI), or power it off with --force.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('stop')
    .description('shut a VM down (ACPI), or force it off with --force')
    .argument('<name>', 'VM name')
    .option('-f, --force', 'power off at once, like pulling the plug (virsh destroy)')
    .option('--timeout <seconds>', 'how long the guest gets to shut down', '60')
    .addHelpText('after', '\nExamples:\n  roost stop web\n  roost stop --force web')
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { stopVm } = await import('../../vm/stop.js');
        const { parseTimeout } = await import('../../vm/input.js');
        const r = await stopVm(await context(), name, {
          force: opts.force,
          timeoutS: parseTimeout(opts.timeout),
        });
        out.result(r, () =>
          r.alreadyStopped ? `${name} was not running` : r.forced ? `${name} forced off` : `${name} stopped`,
        );
      }),
    );
}
