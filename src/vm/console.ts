// roost console NAME: the VM's serial console over libvirt's console stream (like `virsh console`), so it works
// over ssh:// connections too and needs no access to the pty. The terminal goes raw; Ctrl-] leaves.
//
// How it ended matters to the user, so it is told apart: they pressed Ctrl-] ('escape'); the VM stopped
// ('stopped'); the VM runs on but libvirt closed our stream, which is what another client taking the console
// (--force) does ('taken'); or the daemon went away (a DAEMON_GONE error: the VM may well still run).
import { RoostError } from '../errors.js';
import { clearStaleLock, describeLock, lockFix, lockPathFromError } from '../host/checks/pty-locks.js';
import { DomainConsoleFlags, type Domain } from '../libvirt/types.js';
import { ConnectionClosedError, LibvirtError } from '../libvirt/errors.js';
import { parseUri } from '../libvirt/uri.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';

/** Ctrl-] — what virsh uses; unlikely to be needed inside a guest. */
export const ESCAPE_BYTE = 0x1d;
/** How long a VM whose console closed may take to be reported shut off before we call it taken. */
const STOP_GRACE_MS = 3000;
const STOP_POLL_MS = 100;

export type ConsoleEnd = 'escape' | 'stopped' | 'taken';

export interface ConsoleIo {
  input: NodeJS.ReadableStream & { setRawMode?: (raw: boolean) => unknown; isTTY?: boolean };
  output: NodeJS.WritableStream;
  /** Take over a console another client holds (virsh console --force). */
  force?: boolean;
  /** Told what roost did on the user's behalf (e.g. removed a stale console lock). */
  notice?: (message: string) => void;
}

/** Attaches until the user presses Ctrl-], the guest hangs up, or the VM stops. Resolves with why it ended. */
export async function attachConsole(ctx: VmContext, name: string, io: ConsoleIo): Promise<ConsoleEnd> {
  const dom = await lookupVm(ctx, name);
  if (!(await ctx.client.isActive(dom))) {
    throw new RoostError('VM_NOT_RUNNING', `VM '${name}' is not running`, {
      hint: `start it: roost start ${name}`,
    });
  }
  const stream = await openConsole(ctx, dom, name, io);
  const raw = io.input.isTTY && io.input.setRawMode;
  if (raw) io.input.setRawMode!(true);
  const ended = await new Promise<'escape' | 'closed' | ConnectionClosedError>((resolve) => {
    let done = false;
    const end = (why: 'escape' | 'closed' | ConnectionClosedError) => {
      if (done) return;
      done = true;
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
    stream.on('error', (e: Error) => end(e instanceof ConnectionClosedError ? e : 'closed'));
  });
  if (ended === 'escape') return 'escape';
  if (ended instanceof ConnectionClosedError) throw daemonGone(name, ctx.uri, ended);
  return whyClosed(ctx, dom, name);
}

function daemonGone(name: string, uri: string, cause: Error): RoostError {
  const which = parseUri(uri).scope === 'session' ? 'the libvirt session daemon' : 'the libvirt daemon';
  return new RoostError(
    'DAEMON_GONE',
    `${which} went away while attached to the console of '${name}'; the VM may still be running`,
    { hint: `roost ls (it starts a new daemon), then roost console ${name} to attach again`, cause },
  );
}

/** The stream closed without an error from the connection: did the VM stop, or did someone take the console? */
async function whyClosed(ctx: VmContext, dom: Domain, name: string): Promise<ConsoleEnd> {
  const deadline = Date.now() + STOP_GRACE_MS;
  for (;;) {
    let active: boolean;
    try {
      active = await ctx.client.isActive(dom);
    } catch (e) {
      if (e instanceof ConnectionClosedError) throw daemonGone(name, ctx.uri, e);
      // The domain itself is gone (a transient VM that stopped): it is not running.
      if (e instanceof LibvirtError && e.isNotFound()) return 'stopped';
      throw e;
    }
    if (!active) return 'stopped';
    if (Date.now() >= deadline) return 'taken';
    await new Promise((r) => setTimeout(r, STOP_POLL_MS));
  }
}

/** Opens the console stream; a stale console lock of the user's own is removed once and the open retried. */
async function openConsole(ctx: VmContext, dom: Domain, name: string, io: ConsoleIo) {
  const open = () => ctx.client.openConsole(dom, null, io.force ? DomainConsoleFlags.FORCE : 0);
  try {
    return await open();
  } catch (e) {
    if (!(e instanceof LibvirtError)) throw e;
    const path = lockPathFromError(e.message);
    if (path === null) throw consoleBusy(name, e);
    // The lock is on the daemon's host: from here it can be neither read nor removed.
    if (!isLocalUri(ctx.uri)) throw consoleLocked(name, e, { path, why: 'remote' });
    const uid = process.getuid?.() ?? -1;
    const cleared = clearStaleLock(path, uid);
    if (cleared.removed) {
      io.notice?.(
        `removed the stale console lock ${describeLock(cleared.lock)}, left by a libvirt daemon that died ` +
          'while a console was attached',
      );
    } else if (cleared.reason !== 'gone') {
      const lock = cleared.lock;
      throw consoleLocked(name, e, {
        path,
        described: lock && describeLock(lock),
        fix: lock && lockFix(lock, uid),
        why: cleared.reason,
      });
    }
    // Removed, or gone by now (libvirt or another client cleared it): one more try.
    try {
      return await open();
    } catch (again) {
      if (again instanceof LibvirtError) throw consoleLocked(name, again, { path, why: 'unlink-failed' });
      throw again;
    }
  }
}

function isLocalUri(uri: string): boolean {
  try {
    return parseUri(uri).transport === 'unix';
  } catch {
    return false;
  }
}

function consoleBusy(name: string, e: LibvirtError): RoostError {
  return new RoostError('CONSOLE_BUSY', `cannot open the console of '${name}': ${e.message}`, {
    hint: `if another client holds it: roost console --force ${name}`,
    cause: e,
  });
}

const LOCK_WHY = {
  held: 'a running libvirt daemon holds it (a console open through another daemon)',
  'not-own':
    "it is another user's, left by their libvirt daemon that died while a console was attached; only they or root can remove it",
  'unlink-failed': 'it could not be removed',
  remote: "it is on the daemon's host",
} as const;

function consoleLocked(
  name: string,
  e: LibvirtError,
  lock: { path: string; why: keyof typeof LOCK_WHY; described?: string | null; fix?: string | null },
): RoostError {
  const fix = lock.fix ?? `sudo rm -f ${lock.path}`;
  const where = lock.why === 'remote' ? " on the daemon's host" : '';
  return new RoostError(
    'CONSOLE_LOCKED',
    `cannot open the console of '${name}': libvirt's console lock ${lock.described ?? lock.path} blocks it ` +
      `(${LOCK_WHY[lock.why]})`,
    {
      hint:
        lock.why === 'held'
          ? `close the console held through that daemon, or stop it; if none is open: ${fix}`
          : `${fix}${where}, then roost console ${name} (roost doctor lists such locks)`,
      cause: e,
    },
  );
}
