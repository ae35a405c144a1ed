// roost events: the event stream `roost web` serves, on the terminal — libvirt's lifecycle events of every VM
// as they happen (pushed by the daemon, not polled), like `virsh event --loop --all`. Ctrl-C ends it.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { stdoutStream } from '../stdio.js';

export function define(program: Command): void {
  program
    .command('events')
    .description('print VM lifecycle events as they happen (Ctrl-C to stop)')
    .option('--json', 'print one JSON object per line: {type, event, detail, name, uuid, time}')
    .addHelpText(
      'after',
      '\nExamples:\n  roost events\n  roost events --json | jq -c \'select(.event == "stopped")\'',
    )
    .action(async (_opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { watchVmEvents, formatEvent } = await import('../../vm/events.js');
        const ctx = await context();
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          for await (const e of watchVmEvents(ctx, { signal: stop.signal })) {
            // A stream, not one result: one line per event (JSON Lines with --json), written as it arrives.
            stdoutStream().write((out.json ? JSON.stringify(e) : formatEvent(e)) + '\n');
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
