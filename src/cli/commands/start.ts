// roost start NAME: boot a defined VM, optionally waiting until it is ready (like create --wait).
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { stderrStream } from '../stdio.js';

export function define(program: Command): void {
  program
    .command('start')
    .description('start a VM')
    .argument('<name>', 'VM name')
    .option(
      '--wait <what>',
      "then wait for 'ssh' (a login works and cloud-init is done), 'port:N' (guest port N answers through its forward) or 'none'",
      'none',
    )
    .option('--wait-timeout <seconds>', 'give up waiting after this long', '600')
    .option('--json', 'print the result as JSON: {name, alreadyRunning, waitedMs}')
    .addHelpText(
      'after',
      '\nExamples:\n  roost start web\n  roost start web --wait ssh && roost ssh web -- uptime\n  roost start tiny --wait port:80',
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const [{ startVm }, { parseWait, waitUntilReady }, { parseTimeout }, { createPhaseReporter }] =
          await Promise.all([
            import('../../vm/start.js'),
            import('../../vm/wait.js'),
            import('../../vm/input.js'),
            import('../../term/phases.js'),
          ]);
        const timeoutS = parseTimeout(opts.waitTimeout);
        const ctx = await context();
        // On another host the forwards listen there: the wait reaches them through ssh (vm/remote-tunnel.ts).
        const wait = parseWait(opts.wait);
        // A --wait port:N that no forward carries is refused here, before the VM starts.
        const r = await startVm(ctx, name, { wait });
        if (r.accelChanged) out.warn(r.accelChanged);
        if (r.autoPorts) (await import('../../vm/auto-ports.js')).ensureAutoPortsWatcher(ctx, name);
        let waitedMs: number | null = null;
        if (wait.kind !== 'none') {
          // As create shows them: what --wait waits for, each phase with its time (stderr).
          const progress = createPhaseReporter(stderrStream(), !out.json && !out.quiet);
          const { reportWaitPhases } = await import('../wait-phases.js');
          try {
            waitedMs =
              (await waitUntilReady(ctx, r, wait, timeoutS, reportWaitPhases(progress, wait, 'later'))) ??
              null;
            progress.done();
          } catch (e) {
            progress.fail();
            throw e;
          }
        }
        const { startedVm } = await import('../../vm/wire.js');
        out.result(startedVm(r, waitedMs), () => {
          const line = r.alreadyRunning ? `${name} was already running` : `${name} started`;
          return waitedMs === null ? line : `${line}; ready after ${(waitedMs / 1000).toFixed(1)} s`;
        });
      }),
    );
}
