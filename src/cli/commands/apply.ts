// roost apply FILE… [--dry-run] [--prune] [--yes]: make VMs as YAML files describe them (docs/apply.md).
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import type { StopSignal } from '../../errors.js';
import type { ParsedFileCache } from '../../vm/apply-read.js';
import type { VmContext } from '../../vm/context.js';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('apply')
    .description('create or change VMs to match YAML files: prints the plan, then carries it out')
    .argument('<files...>', 'VM files (YAML: one document per VM, separated by ---)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--prune', 'also remove VMs applied from these files that they no longer describe')
    .option('--yes', 'carry out removals (--prune) without which apply refuses to remove')
    .option('--json', 'print the plan and what became of each VM as JSON (docs/cli-json.md)')
    .addHelpText(
      'after',
      `
Examples:
  roost apply vms.yaml                 # create what is missing, change what differs
  roost apply vms.yaml --dry-run       # only the plan: + create, ~ change, = unchanged, - remove
  roost apply vms.yaml --prune --yes   # and remove VMs this file made but no longer lists
  roost export web > web.yaml          # the file of an existing VM

The file's fields are in docs/apply.md; roost schema prints its JSON Schema for editors.`,
    )
    .action(async (files, opts, cmd) =>
      runAction(cmd, async ({ out, context, interruptible }) => {
        const [
          { planApply, runApply, applyResult },
          { planLines },
          { UsageError, RoostError, InterruptedError },
        ] = await Promise.all([
          import('../../vm/apply.js'),
          import('../../vm/apply-plan.js'),
          import('../../errors.js'),
        ]);
        const ctx = await context();
        const parsedCache = await parsedCacheOf(ctx);
        const plan = await planApply(ctx, files, { prune: !!opts.prune, parsedCache });
        const lines = planLines(plan.vms);
        if (opts.dryRun) {
          out.result(applyResult(plan, true), () => [...lines, 'dry run: nothing changed'].join('\n'));
          return;
        }
        for (const line of lines) out.info(line);
        if (plan.vms.some((v) => v.action === 'remove') && !opts.yes) {
          throw new UsageError(
            'APPLY_NEEDS_YES',
            'the plan removes VMs (- lines above): nothing was changed',
            {
              hint: `check the plan, then run again with --yes: roost apply ${files.join(' ')} --prune --yes`,
            },
          );
        }
        const { signal } = interruptible();
        const result = await runApply(ctx, plan, {
          signal,
          onDone: (vm) => {
            if (vm.outcome !== 'as-asked') out.info(`✗ ${vm.name}: ${vm.outcome} — ${vm.error ?? ''}`);
            else if (vm.action !== 'unchanged') out.info(`✓ ${vm.name}: ${doneWord(vm.action)}`);
          },
        });
        if (out.json) out.result(result, () => '');
        if (!result.ok) {
          const failed = result.vms.filter((v) => v.outcome !== 'as-asked');
          const summary = `${failed.length} of ${result.vms.length} VMs are not as the file asks: ${failed.map((v) => `${v.name} (${v.outcome})`).join(', ')}`;
          const hint =
            'fix the cause above and apply again: the VMs done are left as asked, so only the rest is redone';
          // Interrupted: still say which VMs are done (an interruption otherwise only says that it came).
          const e = signal.aborted
            ? new InterruptedError(
                signal.reason as StopSignal,
                `roost apply was interrupted (${String(signal.reason)}): ${summary}`,
                { hint: `apply again to finish: roost apply ${files.join(' ')}` },
              )
            : new RoostError('APPLY_FAILED', summary, { hint });
          if (out.json) process.exitCode = 1;
          else throw e;
        }
      }),
    );
}

/** Where apply keeps parses of files for this build of the CLI (src/vm/apply-read.ts); none from the sources. */
async function parsedCacheOf(ctx: VmContext): Promise<ParsedFileCache | undefined> {
  const { bundleBuild } = await import('../bundle-build.js');
  const build = bundleBuild();
  return build === undefined ? undefined : { dir: join(ctx.paths.cache, 'parsed-files'), build };
}

function doneWord(action: string): string {
  return action === 'create' ? 'created' : action === 'remove' ? 'removed' : 'changed';
}
