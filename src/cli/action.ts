// The wrapper every command's action runs in: global options, output, a lazily opened libvirt connection that
// is always closed, and errors turned into a message and an exit code.
import type { VmContext } from '../vm/context.js';
import { describeError } from './errors.js';
import { createOutput, type GlobalOptions, type Output } from './output.js';

export interface CommandEnv {
  out: Output;
  globals: GlobalOptions;
  /** Opens (once) the libvirt connection named by --connect / $ROOST_CONNECT / the default. */
  context(): Promise<VmContext>;
}

/** Runs a command body; `cmd` is the commander command (for --connect/--json/--quiet wherever they were given). */
export async function runAction(
  cmd: { optsWithGlobals(): unknown },
  body: (env: CommandEnv) => Promise<void>,
): Promise<void> {
  const globals = cmd.optsWithGlobals() as GlobalOptions;
  const out = createOutput(globals);
  let ctx: Promise<VmContext> | undefined;
  const env: CommandEnv = {
    out,
    globals,
    context: () => {
      ctx ??= import('../vm/context.js').then((m) => m.openContext({ uri: globals.connect }));
      return ctx;
    },
  };
  try {
    await body(env);
  } catch (err) {
    const e = describeError(err);
    out.error(e);
    process.exitCode = e.exitCode;
  } finally {
    // The goodbye (CONNECT_CLOSE) is sent, not waited for: the process ends as soon as the command is done
    // (main.ts), and the daemon needs no reply of ours to drop the connection. After starting a VM its reply can
    // take a few milliseconds: the daemon is still busy with the new QEMU.
    if (ctx) void ctx.then((c) => c.close()).catch(() => {});
  }
}
