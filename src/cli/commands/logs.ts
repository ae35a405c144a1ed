// roost logs NAME: what the guest printed on its serial console, or QEMU's own log with --qemu.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { stdoutStream } from '../stdio.js';
import type { VmLog, VmLogPath } from '../../shared/vms.js';

export function define(program: Command): void {
  program
    .command('logs')
    .description("print a VM's serial console log (or QEMU's log with --qemu)")
    .argument('<name>', 'VM name')
    .option('-f, --follow', 'keep printing what is appended (Ctrl-C to stop)')
    .option('--qemu', "QEMU's log (~/.cache/libvirt/qemu/log/NAME.log) instead of the serial console")
    .option('--path', 'print only the log file path')
    .option(
      '--raw',
      "the log's bytes as the guest wrote them; without it, a terminal gets the text with the guest's control characters and escape sequences removed",
    )
    .option('--json', 'print JSON: {name, kind, path, text} (not with --follow)')
    .addHelpText(
      'after',
      '\nExamples:\n  roost logs web\n  roost logs -f web\n  roost logs --raw web   # colours and all, as the guest wrote them\n  roost logs --qemu web\n  roost logs web --json | jq -r .text | grep -i error',
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        if (out.json && opts.follow) {
          const { UsageError } = await import('../../errors.js');
          throw new UsageError('LOGS_FOLLOW_JSON', '--follow streams text: use it without --json');
        }
        const { logPath, readLog, streamLog } = await import('../../vm/logs.js');
        const kind = opts.qemu ? 'qemu' : 'serial';
        const ctx = await context();
        const remote = await remoteLogs(ctx);
        if (remote && kind === 'qemu') throw remote.remoteQemuLogRefused(name);
        const path = await logPath(ctx, name, kind);
        if (remote && !opts.path) {
          // A remote VM's serial log is read through libvirt (vm/remote-logs.ts), not from this host's disk.
          const read = (p: string) => remote.readRemoteLog(ctx, p);
          const stream: typeof streamLog = (p, o, f, s) => remote.streamRemoteLog(ctx, p, o, f, s);
          return printLog({ name, path, opts, out, read, stream });
        }
        if (opts.path) return out.result({ path } satisfies VmLogPath, () => path);
        const read = (p: string) => Promise.resolve(readLog(p));
        await printLog({ name, path, opts, out, read, stream: streamLog, kind });
      }),
    );
}

type StreamLog = (typeof import('../../vm/logs.js'))['streamLog'];

/** Prints the log: as JSON, or streamed (and followed) to stdout, cleaned for a terminal unless --raw. */
async function printLog(a: {
  name: string;
  path: string;
  kind?: 'serial' | 'qemu';
  opts: { follow?: boolean; raw?: boolean };
  out: { json: boolean; result(value: unknown, text: () => string): void };
  read: (path: string) => Promise<string>;
  stream: StreamLog;
}): Promise<void> {
  const { name, path, opts, out, stream } = a;
  if (out.json) {
    const log: VmLog = { name, kind: a.kind ?? 'serial', path, text: await a.read(path) };
    return out.result(log, () => '');
  }
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  // The serial log is what the guest wrote: on a terminal its escape sequences could redraw the screen,
  // set the title or write the clipboard, so a terminal gets clean text unless --raw asks for the bytes.
  const { isatty } = await import('node:tty');
  if (opts.raw || !isatty(1)) return stream(path, stdoutStream(), !!opts.follow, stop.signal);
  const { createSanitizingWriter } = await import('../../term/sanitize.js');
  const clean = createSanitizingWriter(stdoutStream());
  await stream(path, clean, !!opts.follow, stop.signal);
  clean.end();
}

/** The remote-log functions when the VM's host is another (a qemu+ssh:// connection); undefined when local. */
async function remoteLogs(ctx: { uri: string }) {
  const { isRemote } = await import('../../vm/remote.js');
  return isRemote(ctx) ? import('../../vm/remote-logs.js') : undefined;
}
