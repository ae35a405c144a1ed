// roost edit NAME: change CPUs or memory of a VM (applies at the next start when it runs), or grow its disk.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('edit')
    .description(
      "change a VM's CPUs or memory, or grow its disk; everything else in its definition is kept as it is",
    )
    .argument('<name>', 'VM name')
    .option('--cpus <n>', 'virtual CPUs')
    .option('--memory <size>', 'memory, e.g. 4G')
    .option(
      '--disk <size>',
      'grow the main disk to a size (40G) or by one (+10G); now, running or not; never shrinks',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  roost edit web --cpus 4\n  roost edit web --memory 4G   # a running VM gets it at its next start\n  roost edit web --disk 40G    # grows now; the guest's root grows at its next boot (cloud-init growpart)\n  roost edit web --disk +10G   # 10 GiB more than it has",
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { editVm } = await import('../../vm/edit.js');
        const r = await editVm(await context(), name, {
          cpus: opts.cpus,
          memory: opts.memory,
          disk: opts.disk,
        });
        out.result(
          r,
          () =>
            `${name}: ${r.changed.join(', ')}${r.pendingRestart ? ' (applies at next start: roost restart ' + name + ')' : ''}`,
        );
      }),
    );
}
