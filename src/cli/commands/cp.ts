// roost cp [-r] SRC… DEST: copy files between this host and a VM; NAME:PATH on exactly one side.
import { Option, type Command } from '@commander-js/extra-typings';
import type { CopyResult } from '../../shared/files.js';
import { formatBytes } from '../../term/bytes.js';
import { runAction } from '../action.js';
import { stderrStream } from '../stdio.js';

export function define(program: Command): void {
  program
    .command('cp')
    .description("copy files between this host and a VM (NAME:PATH on one side), over the VM's ssh route")
    .argument('<paths...>', 'SRC… DEST; NAME:PATH is a path in VM NAME (relative to the login’s home)')
    .option('-r, --recursive', 'copy directories with everything in them')
    .option('-p, --preserve', 'keep modes and modification times (the default)')
    .option('--no-preserve', 'give copies the mode a new file gets and the time of the copy')
    .addOption(
      new Option('--via <route>', 'ssh, the guest agent (slower; single files), or auto: ssh, else the agent')
        .choices(['auto', 'ssh', 'agent'] as const)
        .default('auto' as const),
    )
    .addHelpText(
      'after',
      `
Examples:
  roost cp ./app.tar.gz web:/tmp/               a file into a directory of the VM
  roost cp web:/var/log/syslog .                a file from the VM into this directory
  roost cp -r ./src web:project/                a directory, into ~/project/ of the VM's login
  roost cp a.txt b.txt 'web:/tmp/my dir/'       several files into a directory (its name has a space)
  roost cp -- -notes.txt web:                   a local name that starts with '-': put it after --
  roost cp ./a:b web:/tmp/                      a local name with a colon: write a slash before it

A VM path is taken literally: no shell reads it and no glob is expanded, so quotes, spaces and '*' are part of
the name. Modes and modification times are kept (like scp -p) unless --no-preserve. The copy runs scp in its SFTP
mode over the route roost ssh takes. On a terminal a meter shows the progress on one line (scp's own for each
file; roost's for the agent route, and for -r one line for the whole tree); --quiet and --json hide it. A VM with
no ssh route whose guest agent answers is copied through the agent: single files, absolute paths, much slower.`,
    )
    .action(async (operands, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { copyFiles, parseCopyOperands, checkLocalSide } = await import('../../vm/copy.js');
        // Usage errors (and a missing local file) come before any connection is opened: nothing changes.
        const plan = parseCopyOperands(operands, { recursive: opts.recursive, preserve: opts.preserve });
        checkLocalSide(plan);
        const ctx = await context();
        const quiet = out.quiet || out.json;
        // node:tty loads net and the stream machinery: only the command that needs it pays for it.
        const [{ createCopyMeter }, { isatty }] = await Promise.all([
          import('../../term/copy-meter.js'),
          import('node:tty'),
        ]);
        const result = await copyFiles(ctx, plan, {
          via: opts.via,
          quiet,
          terminal: isatty(1),
          notice: (line) => out.warn(line),
          info: (line) => out.info(line),
          // A meter is drawn on stderr only when it is a terminal; elsewhere a line per finished file goes to stdout.
          events: quiet
            ? undefined
            : createCopyMeter(isatty(2) ? stderrStream() : undefined, (line) => out.info(line)),
        });
        out.result(result, () => (out.quiet ? '' : summary(result)));
      }),
    );
}

function summary(r: CopyResult): string {
  const secs = r.elapsedMs / 1000;
  // A rate says something only for a large copy: a small one is all login.
  const rate = secs > 0 && r.bytes >= 1024 ** 2 ? `, ${formatBytes(Math.round(r.bytes / secs))}/s` : '';
  const way = r.direction === 'to-guest' ? `to ${r.vm}` : `from ${r.vm}`;
  return `copied ${formatBytes(r.bytes)} ${way} in ${secs.toFixed(1)} s${rate} (${r.via === 'agent' ? 'guest agent' : 'ssh'})`;
}
