// roost stats NAME: one VM's CPU, memory, disk and network use over a short interval, from libvirt's bulk stats.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { parseInterval } from './top.js';

export function define(program: Command): void {
  program
    .command('stats')
    .description("show one VM's CPU, memory, disk and network use")
    .argument('<name>', 'VM name')
    .option('--json', 'print JSON: VmStats (see docs/cli-json.md)')
    .option('--interval <seconds>', 'seconds between the two samples the rates come from', parseInterval, 1)
    .addHelpText(
      'after',
      `
A VM that is not running shows its state and zero counters.
Examples:
  roost stats web
  roost stats web --json | jq .memory`,
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const [{ vmStats }, ctx] = await Promise.all([import('../../vm/stats-one.js'), context()]);
        const s = await vmStats(ctx, name, opts.interval * 1000);
        if (out.json) return out.result(s, () => '');
        const { renderOneVm } = await import('../stats-view.js');
        out.result(s, () => renderOneVm(s));
      }),
    );
}
