// roost clone SRC DST: a shut-off VM becomes a second VM with its own disk, identity and ports.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { stderrStream } from '../stdio.js';

type CloneResult = import('../../vm/clone.js').CloneResult;
type Format = (p: CloneResult['ports'][number]) => string;

function clonedText(r: CloneResult, fmt: Format): string {
  const shut = r.stoppedSource ? ` (${r.source} was shut down)` : '';
  return [
    `${r.name} is a ${r.linked ? 'linked clone' : 'copy'} of ${r.source}${shut}; start it: roost start ${r.name}`,
    ...r.ports.map((p) => `  ${fmt(p)}${r.chosenPorts.includes(p) ? '  (chosen by roost)' : ''}`),
  ].join('\n');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function define(program: Command): void {
  program
    .command('clone')
    .description(
      'copy a shut-off VM into a new one: its own disk, UUID, MACs, cloud-init instance (new ssh host keys) and host ports',
    )
    .argument('<source>', 'the VM to copy (shut off, or give --stop)')
    .argument('<name>', "the new VM's name")
    .option(
      '--linked',
      "O(1) instead of a full copy: the source's disk becomes a read-only shared base, and the source and the clone each get an overlay of it",
    )
    .option(
      '-p, --port <[addr:]host:guest[/proto]>',
      "the clone's port forwards (repeatable); default: a free host port for each of the source's",
      collect,
    )
    .option('--stop', 'shut a running source down first (it is left shut off)')
    .option('--json', 'print the result as JSON (see docs/cli-json.md)')
    .addHelpText(
      'after',
      `
Examples:
  roost clone web web2                      # full copy; free host ports chosen and printed
  roost clone web web2 --linked             # instant: web and web2 each on an overlay of web's old disk
  roost clone web web2 --port 8081:80 --port 2223:22
  roost clone --stop web web2               # web runs: shut it down first
The clone is left shut off: roost start NAME. Nothing is made when an option is wrong; a failure part way, or
Ctrl-C, removes what was made.`,
    )
    .action(async (source, name, opts, cmd) =>
      runAction(cmd, async ({ out, context, interruptible }) => {
        const [{ cloneVm }, { clonedVm }, { createPhaseReporter }, { formatPortForward }] = await Promise.all(
          [
            import('../../vm/clone.js'),
            import('../../vm/wire-state.js'),
            import('../../term/phases.js'),
            import('../../net/port-spec.js'),
          ],
        );
        const labels = {
          stopping: `shutting down ${source}`,
          disk: opts.linked ? 'making the overlay disk' : 'copying the disk',
          seed: 'writing cloud-init seed',
          defining: 'defining VM',
        };
        const progress = createPhaseReporter(stderrStream(), !out.json && !out.quiet);
        const interruption = interruptible();
        try {
          const r = await cloneVm(
            await context(),
            { source, name, linked: opts.linked, ports: opts.port, stop: opts.stop },
            (p) => progress.phase(labels[p]),
            interruption,
          );
          progress.done();
          for (const w of r.warnings) out.warn(w);
          out.result(clonedVm(r), () => clonedText(r, formatPortForward));
        } catch (e) {
          progress.fail();
          throw e;
        }
      }),
    );
}
