// roost exec NAME -- CMD [ARGS…]: a command run in the guest through its guest agent (docs/exec.md).
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { stderrStream, stdoutStream } from '../stdio.js';

/** Exit codes of a command that never ran or ran too long, as a shell and timeout(1) give them. */
const NOT_STARTED_EXIT = 127;
const TIMED_OUT_EXIT = 124;

export function define(program: Command): void {
  program
    .command('exec')
    .description('run a command in a VM through its guest agent (no network or ssh needed)')
    .argument('<name>', 'VM name')
    .argument('<command...>', 'the program and its arguments (put them after --)')
    .option(
      '--timeout <seconds>',
      'stop waiting after this long (exit 124; the command runs on in the guest)',
    )
    .option('-i, --stdin', 'pass what roost reads on stdin to the command (up to 1 MiB)')
    .addHelpText(
      'after',
      `
Examples:
  roost exec web -- uname -a
  roost exec web -- sh -c 'systemctl is-active nginx || journalctl -u nginx -n 20'
  roost exec web --timeout 60 -- apt-get -y install curl
  echo hello | roost exec web --stdin -- tee /tmp/hello.txt
The guest needs qemu-guest-agent running (roost create adds its channel). stdout and stderr come back when the
command has exited; the exit code is the command's (128+N for signal N, 127 when it could not start, 124 on
--timeout).`,
    )
    .action(async (name, command, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const [{ execInVm, GuestCommandNotStartedError, ExecTimeoutError }, { parseTimeout }] =
          await Promise.all([import('../../vm/exec.js'), import('../../vm/input.js')]);
        const timeoutMs = opts.timeout === undefined ? undefined : parseTimeout(opts.timeout) * 1000;
        const input = opts.stdin ? await readStdin() : undefined;
        try {
          const r = await execInVm(await context(), name, command, { input, timeoutMs });
          if (r.stdout.length) stdoutStream().write(r.stdout);
          if (r.stderr.length) stderrStream().write(r.stderr);
          if (r.truncated) out.warn('the guest agent cut the output at 16 MiB: use roost ssh for more');
          process.exitCode = r.exitCode;
        } catch (e) {
          if (!(e instanceof GuestCommandNotStartedError || e instanceof ExecTimeoutError)) throw e;
          const { describeError } = await import('../../describe-error.js');
          out.error(describeError(e));
          process.exitCode = e instanceof ExecTimeoutError ? TIMED_OUT_EXIT : NOT_STARTED_EXIT;
        }
      }),
    );
}

/** All of stdin, stopping once it is over the cap (execInVm refuses it then, naming the cap). */
async function readStdin(): Promise<Buffer> {
  const { EXEC_INPUT_MAX_BYTES } = await import('../../vm/exec.js');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > EXEC_INPUT_MAX_BYTES) break;
  }
  return Buffer.concat(chunks);
}
