#!/usr/bin/env node
// roost's command line. Each command lives in its own file under commands/ and registers itself here; heavy
// modules (the libvirt client, domain XML) are imported only by the commands that run, so `roost ls` starts fast.
import { Command, CommanderError } from '@commander-js/extra-typings';
import { setFlagsFromString } from 'node:v8';
import { COMMANDS } from './commands/index.js';

// Most commands live ~100 ms. V8's optimising compiler would start compiling the hot few functions (the XML
// reader under `roost ls`) on a background thread, and Node waits for those jobs before it exits: ~30–50 ms of a
// `roost ls` spent on code that never runs. Long-lived commands (`roost web`) turn it back on (optimizeForLongRun).
setFlagsFromString('--no-opt');

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
  return program;
}

declare const ROOST_VERSION: string | undefined;
const VERSION = typeof ROOST_VERSION === 'string' ? ROOST_VERSION : '0.1.0';

async function main(): Promise<void> {
  const program = buildProgram();
  // Usage errors exit 2 (commander's default is 1), help and --version exit 0.
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
    else throw e;
  }
}

await main();
