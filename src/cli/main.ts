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

// `roost ls | head -1`: the reader is gone, and what is left to print has nowhere to go. Stop quietly, as other
// command-line tools do, instead of a stack trace about EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

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
void main();
