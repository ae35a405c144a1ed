// roost console NAME: the VM's serial console over libvirt's console stream (like `virsh console`), so it works
// over ssh:// connections too and needs no access to the pty. The terminal goes raw; Ctrl-] leaves.
import { RoostError } from '../errors.js';
import { LibvirtError } from '../libvirt/errors.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';

/** Ctrl-] — what virsh uses; unlikely to be needed inside a guest. */
export const ESCAPE_BYTE = 0x1d;
const CONSOLE_FORCE = 1;

export interface ConsoleIo {
  input: NodeJS.ReadableStream & { setRawMode?: (raw: boolean) => unknown; isTTY?: boolean };
  output: NodeJS.WritableStream;
  /** Take over a console another client holds (virsh console --force). */
  force?: boolean;
}

/** Attaches until the user presses Ctrl-], the guest hangs up, or the VM stops. Resolves with why it ended. */
export async function attachConsole(
  ctx: VmContext,
  name: string,
  io: ConsoleIo,
): Promise<'escape' | 'closed'> {
  const dom = await lookupVm(ctx, name);
  if (!(await ctx.client.isActive(dom))) {
    throw new RoostError('VM_NOT_RUNNING', `VM '${name}' is not running`, {
      hint: `start it: roost start ${name}`,
    });
  }
  let stream;
  try {
    stream = await ctx.client.openConsole(dom, null, io.force ? CONSOLE_FORCE : 0);
  } catch (e) {
    if (e instanceof LibvirtError) {
      throw new RoostError('CONSOLE_BUSY', `cannot open the console of '${name}': ${e.message}`, {
        hint: `if another client holds it: roost console --force ${name}`,
        cause: e,
      });
    }
    throw e;
  }
  const raw = io.input.isTTY && io.input.setRawMode;
  if (raw) io.input.setRawMode!(true);
  return new Promise((resolve) => {
    let ended = false;
    const end = (why: 'escape' | 'closed') => {
      if (ended) return;
      ended = true;
      io.input.removeListener('data', onInput);
      if (raw) io.input.setRawMode!(false);
      io.input.pause();
      stream.destroy();
      resolve(why);
    };
    const onInput = (chunk: Buffer) => {
      const at = chunk.indexOf(ESCAPE_BYTE);
      if (at >= 0) {
        if (at > 0) stream.write(chunk.subarray(0, at));
        end('escape');
      } else stream.write(chunk);
    };
    io.input.on('data', onInput);
    io.input.resume();
    stream.on('data', (b: Buffer) => io.output.write(b));
    stream.on('end', () => end('closed'));
    stream.on('close', () => end('closed'));
    stream.on('error', () => end('closed'));
  });
}
