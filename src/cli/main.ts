#!/usr/bin/env node
// roost's command line. Each command lives in its own file under commands/ and registers itself in program.ts;
// heavy modules (the libvirt client, domain XML) are imported only by the commands that run, so `roost ls` starts
// fast.
import { CommanderError } from '@commander-js/extra-typings';
import { setFlagsFromString } from 'node:v8';
import { buildProgram } from './program.js';

// Most commands live ~100 ms. V8's optimising compiler would start compiling the hot few functions (the XML
// reader under `roost ls`) on a background thread, and Node waits for those jobs before it exits: ~30–50 ms of a
// `roost ls` spent on code that never runs. Long-lived commands (`roost web`) turn it back on (optimizeForLongRun).
setFlagsFromString('--no-opt');

// A reader that went away (`roost ls | head -1`) is not worth a stack trace about EPIPE:
//  - stdout carries the result: with nobody reading it, stop, with exit code 141 (128 + SIGPIPE: what a shell
//    reports for any tool whose output pipe closed under it, e.g. `yes | head -1`), never a false 0;
//  - stderr carries progress and warnings: stop writing there and let the command finish its work (a `create`
//    whose phase lines go nowhere still creates, or rolls back, and says which in its exit code).
const readerGone = (e: NodeJS.ErrnoException) => e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED';
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (!readerGone(e)) throw e;
  process.exit(141);
});
process.stderr.on('error', (e: NodeJS.ErrnoException) => {
  if (!readerGone(e)) throw e;
  process.stderr.write = () => true;
});

async function main(): Promise<void> {
  const program = buildProgram(process.argv.slice(2));
  // Usage errors exit 2 (commander's default is 1), help and --version exit 0.
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
    else throw e;
  }
}

// Not a top-level await: the bundle is CommonJS (scripts/bundle-cli.mjs). A rejection still ends the process.
// What a top-level await also gave: a command whose work never settled, with nothing left to wait for (a bug),
// does not exit 0 as if it had succeeded, but 13 as Node's own unsettled top-level await does.
let settled = false;
void main().finally(() => (settled = true));
process.on('exit', () => {
  if (!settled && (process.exitCode ?? 0) === 0) process.exitCode = 13;
});
