// The command tree: every verb under commands/ registered on one commander program, with usage errors turned into
// exceptions everywhere in it (main.ts maps them to exit 2). Kept apart from main.ts so tests can walk the tree.
import { Command } from '@commander-js/extra-typings';
import { COMMANDS } from './commands/index.js';

declare const ROOST_VERSION: string | undefined;
const VERSION = typeof ROOST_VERSION === 'string' ? ROOST_VERSION : '0.1.0';

export function buildProgram(): Command {
  const program = new Command('roost')
    .description("Rootless virtual machines on libvirt's session connection (qemu:///session).")
    .version(VERSION, '-V, --version')
    .option(
      '-c, --connect <uri>',
      'libvirt URI (default: $ROOST_CONNECT, $LIBVIRT_DEFAULT_URI, qemu:///session)',
    )
    .option('--json', 'print JSON instead of text (read commands)')
    .option('-q, --quiet', 'print only what was asked for')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  roost doctor                                   check this host, with the fix for each problem
  roost create web --image ./debian.qcow2 --port 8080:80
  roost ls --json
  roost console web                              serial console (Ctrl-] to leave)

Exit codes: 0 ok, 1 the operation failed, 2 bad usage (nothing was changed).`,
    );
  for (const define of COMMANDS) define(program);
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
