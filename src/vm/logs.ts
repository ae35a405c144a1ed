// roost logs NAME: the VM's serial console log (what the guest printed) or, with --qemu, QEMU's own log as
// libvirt's session mode writes it (~/.cache/libvirt/qemu/log/NAME.log). Both live in the user's home.
import {
  closeSync,
  createReadStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  watch,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDomainXml } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';

export type LogKind = 'serial' | 'qemu';

export async function logPath(ctx: VmContext, name: string, kind: LogKind): Promise<string> {
  const dom = await lookupVm(ctx, name);
  if (kind === 'qemu') {
    const cache = ctx.env.XDG_CACHE_HOME || join(ctx.env.HOME || homedir(), '.cache');
    return join(cache, 'libvirt', 'qemu', 'log', `${dom.name}.log`);
  }
  const p = parseDomainXml(await ctx.client.getXml(dom)).serialLog;
  if (!p) {
    throw new RoostError('NO_SERIAL_LOG', `VM '${name}' does not log its serial console to a file`, {
      hint: `watch it live instead: roost console ${name}; or see QEMU's log: roost logs --qemu ${name}`,
    });
  }
  return p;
}

/** The whole log as text (for --json; a console log is small). */
export function readLog(path: string): string {
  if (!existsSync(path)) throw noLogYet(path);
  return readFileSync(path, 'utf8');
}

function noLogYet(path: string): RoostError {
  return new RoostError(
    'NO_LOG_YET',
    `no log at ${path} yet (the VM has not been started since it was created?)`,
  );
}

/**
 * The last `lines` lines of a log as plain text, for an error message: terminal control sequences and other
 * control characters the guest printed are dropped (they would redraw the user's terminal). Undefined when the
 * log does not exist or is empty.
 */
export function logTail(path: string, lines = 15): string | undefined {
  let text: string;
  try {
    const size = statSync(path).size;
    const start = Math.max(0, size - 64 * 1024);
    const buf = Buffer.alloc(size - start);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buf, 0, buf.length, start);
    } finally {
      closeSync(fd);
    }
    text = buf.toString('utf8');
  } catch {
    return undefined;
  }
  const clean = text
    // eslint-disable-next-line no-control-regex -- removing control sequences is the point
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]/g, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  const all = clean.split('\n').map((l) => l.trimEnd());
  while (all.length > 0 && all[all.length - 1] === '') all.pop();
  return all.length === 0 ? undefined : all.slice(-lines).join('\n');
}

/** Copies the log to `out`; with `follow`, keeps copying what is appended until `signal` aborts. */
export async function streamLog(
  path: string,
  out: { write(chunk: Buffer): unknown },
  follow: boolean,
  signal?: AbortSignal,
): Promise<void> {
  if (!existsSync(path)) {
    if (!follow) throw noLogYet(path);
  }
  let offset = 0;
  const copy = () =>
    new Promise<void>((resolve, reject) => {
      if (!existsSync(path)) return resolve();
      const size = statSync(path).size;
      if (size < offset) offset = 0; // truncated: the VM restarted and the log began again
      if (size === offset) return resolve();
      const s = createReadStream(path, { start: offset, end: size - 1 });
      s.on('data', (b) => out.write(b as Buffer));
      s.on('end', () => {
        offset = size;
        resolve();
      });
      s.on('error', reject);
    });
  await copy();
  if (!follow) return;
  await new Promise<void>((resolve) => {
    let busy = Promise.resolve();
    const tick = () => (busy = busy.then(copy).catch(() => {}));
    const timer = setInterval(tick, 500); // also covers a log file created after we started
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(path, tick);
    } catch {
      // Not there yet: the interval picks it up.
    }
    signal?.addEventListener('abort', () => {
      clearInterval(timer);
      watcher?.close();
      resolve();
    });
  });
}
