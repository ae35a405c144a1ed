// The command tree: every verb under commands/ registered on one commander program, with usage errors turned into
// exceptions everywhere in it (main.ts maps them to exit 2). Kept apart from main.ts so tests can walk the tree.
import { Command } from '@commander-js/extra-typings';
import { VERSION } from '../version.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';
import { COMPLETE_COMMAND, defineComplete } from './commands/completion.js';
import { writeStderr, writeStdout } from './stdio.js';

/**
 * The program for these arguments (process.argv without node and the script). When they name a command, only
 * that one is defined: the others' options and help texts cost time at every start (BENCHMARKS.md has the
 * start-up target for `roost ls`). Without arguments, for help, or for a name that is no command, the whole
 * table is defined, so `roost --help` and commander's "did you mean" stay complete.
 */
export function buildProgram(args: readonly string[] = []): Command {
  const program = new Command('roost')
    .description("Rootless virtual machines on libvirt's session connection (qemu:///session).")
    .version(VERSION, '-V, --version')
    .option(
      '-c, --connect <uri>',
      'libvirt URI (default: $ROOST_CONNECT, $LIBVIRT_DEFAULT_URI, qemu:///session)',
    )
    .option('-H, --host <name>', "a host of roost's host list (roost hosts): short for --connect its URI")
    .option('--json', 'print JSON instead of text (read commands)')
    .option('-q, --quiet', 'print only what was asked for')
    // Help, --version and usage errors through stdio.ts as well (commands defined below inherit this).
    .configureOutput({ writeOut: writeStdout, writeErr: writeStderr })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  roost doctor                                   check this host, with the fix for each problem
  roost create web --image ./debian.qcow2 --port 8080:80
  roost ls --json
  roost -H lab ls                                VMs of host 'lab' (roost hosts add lab qemu+ssh://…)
  roost ls --all-hosts                           every host's VMs, with a HOST column
  roost console web                              serial console (Ctrl-] to leave)

Exit codes: 0 ok, 1 the operation failed, 2 bad usage (nothing was changed).`,
    );
  // The hidden entry of the completion scripts, first on their line: it walks a whole table of its own.
  if (args[0] === COMPLETE_COMMAND) defineComplete(program, () => buildProgram());
  else {
    const wanted = commandNamedIn(args);
    for (const c of COMMANDS)
      if (wanted === undefined || c === wanted) c.define(program, () => buildProgram());
  }
  throwOnUsageErrors(program);
  return program;
}

/**
 * Makes commander throw instead of exiting, on this command and every subcommand below it (`port add`,
 * `host bridge-setup`, …): commander copies the setting only to subcommands made after it is set.
 */
function throwOnUsageErrors(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) throwOnUsageErrors(sub as Command);
}

/**
 * The command the arguments name: the first word that is not a global option (or --connect's value). Only a
 * shortcut — commander still parses everything — so anything unclear (combined short flags, help, --) gives
 * undefined, and with it the whole table.
 */
export function commandNamedIn(args: readonly string[]): CommandEntry | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '--connect' || a === '-H' || a === '--host') i++;
    else if (a === '--json' || a === '-q' || a === '--quiet' || /^--(connect|host)=/.test(a)) continue;
    else if (a.startsWith('-')) return undefined;
    else return COMMANDS.find((c) => c.names.includes(a));
  }
  return undefined;
}
