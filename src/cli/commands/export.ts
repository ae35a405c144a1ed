// roost export NAME [--format roost]: the VM file that roost apply makes this VM from (docs/apply.md).
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { writeStdout } from '../stdio.js';

export function define(program: Command): void {
  program
    .command('export')
    .description('print the VM file (YAML) that roost apply turns back into this VM')
    .argument('<name>', 'VM name')
    .option('--format <format>', 'roost (the file roost apply reads); kubevirt is not available yet', 'roost')
    .addHelpText(
      'after',
      `
Examples:
  roost export web > web.yaml      # any VM, also one made by virsh or virt-manager
  roost rm web && roost apply web.yaml

What the file cannot describe (a second disk, a NIC on a libvirt network…) is listed in its first comments.`,
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ context }) => {
        const { exportVm } = await import('../../vm/export.js');
        const text = await exportVm(await context(), name, opts.format);
        // YAML whatever --json says: the file is the answer (its fields are the schema's, `roost schema`).
        writeStdout(text);
      }),
    );
}
