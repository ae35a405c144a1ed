// roost rm NAME: remove a VM with its disks (roost's own), NVRAM and snapshot metadata.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('rm')
    .alias('remove')
    .description(
      'remove a VM: undefine it with NVRAM and snapshot metadata, and delete the disks roost made for it',
    )
    .argument('<name>', 'VM name')
    .option('-f, --force', 'remove a running VM too (it is powered off first)')
    .option('--keep-storage', 'keep its disks')
    .option('--json', 'print what was removed as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  roost rm web\n  roost rm --force --keep-storage web\nBase images, ISOs and disks roost did not create are never deleted.',
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context, interruptible }) => {
        const { removeVm } = await import('../../vm/remove.js');
        // A Ctrl-C before anything changed stops rm; after that, rm finishes (vm/remove.ts says why).
        const { signal } = interruptible();
        const r = await removeVm(await context(), name, {
          force: opts.force,
          keepStorage: opts.keepStorage,
          signal,
        });
        if (signal.aborted) {
          out.warn(
            `interrupted (${String(signal.reason)}) after ${name} was changed: finished removing it rather than leave half a VM`,
          );
        }
        out.result(r, () =>
          [
            r.leftoversOnly
              ? `no VM named ${name}; removed what an interrupted create of it left`
              : `${name} removed${r.destroyed ? ' (it was running: powered off)' : ''}`,
            ...r.deletedDisks.map((d) => `  deleted ${d}`),
            ...r.keptDisks.map((d) => `  kept ${d}`),
          ].join('\n'),
        );
      }),
    );
}
