// roost's command line, run by bin.ts. Each command lives in its own file under commands/ and registers itself
// in program.ts; heavy modules (the libvirt client, domain XML) are imported only by the commands that run, so
// `roost ls` starts fast.
import { CommanderError } from '@commander-js/extra-typings';
import { buildProgram } from './program.js';
import { unflushedStreams } from './stdio.js';

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
void main().then(
  () => {
    settled = true;
    // After the ticks already queued: a write that failed (a reader gone) reports it in one, and stdio.ts
    // decides the exit code.
    setImmediate(exitWhenFlushed);
  },
  (e: unknown) => {
    settled = true;
    throw e; // an unhandled rejection: Node prints it and exits 1
  },
);
process.on('exit', () => {
  if (!settled && (process.exitCode ?? 0) === 0) process.exitCode = 13;
});

/**
 * Ends the process once stdout and stderr have passed on what the command wrote. A command is done when main()
 * settles; Node's own exit would then still wait for V8's background jobs — optimising compiles of the functions
 * the command ran hot (the XML reader under `roost ls`), which never run again: a noticeable share of a short
 * command.
 * (Turning the optimising compiler off instead, with v8.setFlagsFromString, changes V8's flags hash, and then
 * every Node built-in module loaded later, and every chunk in the compile cache, is compiled from source.)
 */
function exitWhenFlushed(): void {
  const pending = unflushedStreams();
  let left = pending.length;
  if (left === 0) process.exit();
  // A stream that fails instead (its reader went away) never drains: stdio.ts deals with it, and the process
  // ends when nothing is left to do.
  for (const s of pending) s.once('drain', () => --left === 0 && process.exit());
}
