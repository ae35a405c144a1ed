// roost restart NAME: stop (ACPI, or --force) and start again.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import type { RestartedVm } from '../../shared/vms.js';

export function define(program: Command): void {
  program
    .command('restart')
    .description('stop a VM (ACPI; --force to power off) and start it again')
    .argument('<name>', 'VM name')
    .option('-f, --force', 'power off instead of asking the guest to shut down')
    .option('--timeout <seconds>', 'how long the guest gets to shut down', '60')
    .addHelpText(
      'after',
      '\nExamples:\n  roost restart web\n  roost restart web --force        # when the guest ignores the ACPI request',
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const [{ stopVm }, { startVm }, { parseTimeout }] = await Promise.all([
          import('../../vm/stop.js'),
          import('../../vm/start.js'),
          import('../../vm/input.js'),
        ]);
        const ctx = await context();
        const timeoutS = parseTimeout(opts.timeout);
        await stopVm(ctx, name, { force: opts.force, timeoutS });
        // --auto-ports: the last boot's watcher goes, and a new one watches this boot.
        const autoPorts = await import('../../vm/auto-ports.js');
        await autoPorts.stopAutoPortsWatcher(ctx.paths, name);
        const r = await startVm(ctx, name);
        if (r.accelChanged) out.warn(r.accelChanged);
        if (r.autoPorts) autoPorts.ensureAutoPortsWatcher(ctx, name);
        out.result({ name, restarted: true } satisfies RestartedVm, () => `${name} restarted`);
      }),
    );
}
