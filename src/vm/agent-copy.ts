// roost cp through the QEMU guest agent, for a VM with no ssh route: the agent's file calls (guest-file-open,
// -read, -write, -close) carry the bytes, base64 in JSON, one round trip through libvirt per chunk — far slower
// than scp, which is why it is only the fallback. The agent runs as root in the guest: the steps around the bytes
// (staging, owner, mode, time, the final rename) are shell scripts run by guest-exec that follow no link a guest
// user controls (agent-copy-script.ts). A file an upload creates is given to the VM's login user, as over ssh; one
// it overwrites keeps its owner.
import {
  chmodSync,
  closeSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { RoostError, UsageError } from '../errors.js';
import type { Domain } from '../libvirt/types.js';
import type { VmContext } from './context.js';
import {
  downloadPrepareArgv,
  removeStageArgv,
  uploadFinishArgv,
  uploadPrepareArgv,
} from './agent-copy-script.js';
import type { CopyEvents, CopyPlan } from './copy.js';
import { quoted } from './input.js';

/**
 * Raw bytes per guest-file-write. libvirt writes an agent command to its socket in one go and, when the socket
 * takes only part of it, sends the part again (its write loop drops the count on EAGAIN): the guest agent then
 * reads a garbled command and never answers. A command must therefore fit the socket's buffer at once (about
 * 208 KiB by default on Linux, half of it per packet): 48 KiB is 64 KiB of base64 with the JSON around it.
 */
export const WRITE_CHUNK = 48 * 1024;
/** Raw bytes per guest-file-read: the reply comes back through a plain read loop, far under libvirt's limit. */
export const READ_CHUNK = 256 * 1024;
/** Seconds libvirt waits for one agent call. */
const CALL_TIMEOUT_S = 60;

export async function agentAnswers(ctx: VmContext, dom: Domain): Promise<boolean> {
  try {
    await ctx.client.agentCommand(dom, JSON.stringify({ execute: 'guest-ping' }), 2);
    return true;
  } catch {
    return false;
  }
}

/** One agent command and its `return` value; a failure names the command and what the agent or libvirt said. */
async function agentCall<T>(ctx: VmContext, dom: Domain, execute: string, args: object): Promise<T> {
  let reply: string | null;
  try {
    reply = await ctx.client.agentCommand(dom, JSON.stringify({ execute, arguments: args }), CALL_TIMEOUT_S);
  } catch (e) {
    throw new RoostError('AGENT_COPY_FAILED', `the guest agent failed ${execute}: ${(e as Error).message}`, {
      hint: 'is qemu-guest-agent running in the guest? roost ip NAME shows whether it answers',
      cause: e,
    });
  }
  return (JSON.parse(reply ?? '{}') as { return: T }).return;
}

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  'out-data'?: string;
  'err-data'?: string;
}

/** Runs a program in the guest (an argument array, no shell) and waits for it; its output and exit code. */
async function guestExec(
  ctx: VmContext,
  dom: Domain,
  argv: string[],
): Promise<{ code: number; out: string; err: string }> {
  const { pid } = await agentCall<{ pid: number }>(ctx, dom, 'guest-exec', {
    path: argv[0],
    arg: argv.slice(1),
    'capture-output': true,
  });
  const deadline = Date.now() + CALL_TIMEOUT_S * 1000;
  for (;;) {
    const s = await agentCall<ExecStatus>(ctx, dom, 'guest-exec-status', { pid });
    if (s.exited) {
      const text = (b?: string) => (b ? Buffer.from(b, 'base64').toString('utf8') : '');
      return { code: s.exitcode ?? 1, out: text(s['out-data']), err: text(s['err-data']) };
    }
    if (Date.now() > deadline) {
      throw new RoostError(
        'AGENT_COPY_FAILED',
        `${argv[0]} in the guest did not finish in ${CALL_TIMEOUT_S} s`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Copies regular files as planned through the guest agent, telling `events` how each goes; the bytes copied.
 * `owner`: the VM's login user, who gets the files an upload creates (the agent writes as root).
 */
export async function copyThroughAgent(
  ctx: VmContext,
  dom: Domain,
  plan: CopyPlan,
  events: CopyEvents = () => {},
  owner?: string,
): Promise<number> {
  checkAgentPlan(plan);
  let total = 0;
  if (plan.direction === 'to-guest') {
    for (const src of plan.sources) {
      const [stage, kind] = (await expectExec(ctx, dom, uploadPrepareArgv(plan.destination))).split('\n');
      const intoDir = plan.sources.length > 1 || kind === 'dir';
      const target = intoDir ? posix.join(plan.destination, basename(src)) : plan.destination;
      const label = `${basename(src)} → ${plan.vm}:${target}`;
      events({ type: 'file', label, size: statSync(src).size });
      const file = { src, target, preserve: plan.preserve, owner };
      total += await upload(ctx, dom, stage!, file, events);
      events({ type: 'file-done', label });
    }
    return total;
  }
  const intoDir = isLocalDir(plan.destination);
  for (const src of plan.sources) {
    const target = intoDir ? join(plan.destination, posix.basename(src)) : plan.destination;
    const label = `${plan.vm}:${src} → ${target}`;
    total += await download(ctx, dom, { src, target, preserve: plan.preserve }, (ev) =>
      events(ev.type === 'file' ? { ...ev, label } : ev),
    );
    events({ type: 'file-done', label });
  }
  return total;
}

/** One file's copy: where from, where to, and whether its mode and time go along. */
interface FileCopy {
  src: string;
  target: string;
  preserve: boolean;
  /** Who gets a file the upload creates. */
  owner?: string;
}

/**
 * What the agent route cannot do, refused before anything is copied: directories (it has no directory calls),
 * and relative guest paths (the agent's working directory is '/', not a login's home).
 */
export function checkAgentPlan(plan: CopyPlan): void {
  if (plan.recursive) {
    throw new UsageError(
      'CP_AGENT_NO_DIRECTORIES',
      'the guest agent route copies single files, not directories (-r)',
      {
        hint: `give the VM an ssh route (roost port add ${plan.vm} 2222:22), or copy a tar file`,
      },
    );
  }
  const guestPaths = plan.direction === 'to-guest' ? [plan.destination] : plan.sources;
  const relative = guestPaths.find((p) => !p.startsWith('/'));
  if (relative !== undefined) {
    throw new UsageError(
      'CP_AGENT_RELATIVE_PATH',
      `${quoted(`${plan.vm}:${relative}`)} is relative: through the guest agent a guest path must be absolute`,
      { hint: `write it from /, e.g. ${plan.vm}:/tmp/` },
    );
  }
}

function isLocalDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function upload(
  ctx: VmContext,
  dom: Domain,
  stage: string,
  { src, target, preserve, owner }: FileCopy,
  events: CopyEvents,
): Promise<number> {
  let total = 0;
  try {
    total = await writeStaged(ctx, dom, `${stage}/f`, src, events);
  } catch (e) {
    await guestExec(ctx, dom, removeStageArgv(stage)).catch(() => {});
    throw e;
  }
  // The last step removes the staging directory whatever happens. A file the copy creates goes to the login user,
  // as over ssh; an overwritten regular file keeps its owner and, unless -p gives one, its mode, as with cp(1).
  const st = statSync(src);
  await expectExec(
    ctx,
    dom,
    uploadFinishArgv({
      stage,
      target,
      owner: owner ?? '',
      mode: preserve ? (st.mode & 0o7777).toString(8) : '',
      mtime: preserve ? String(Math.floor(st.mtimeMs / 1000)) : '',
    }),
  );
  return total;
}

/** The bytes of `src` into `path` in the guest (a root-only staging directory's file). */
async function writeStaged(
  ctx: VmContext,
  dom: Domain,
  path: string,
  src: string,
  events: CopyEvents,
): Promise<number> {
  const fd = openSync(src, 'r');
  let total = 0;
  try {
    const handle = await agentCall<number>(ctx, dom, 'guest-file-open', { path, mode: 'w' });
    let closed = false;
    try {
      const buf = Buffer.alloc(WRITE_CHUNK);
      for (let n; (n = readSync(fd, buf, 0, WRITE_CHUNK, null)) > 0; total += n) {
        await writeAll(ctx, dom, handle, buf.subarray(0, n), path);
        events({ type: 'bytes', done: total + n });
      }
      // Closing flushes the guest's buffer: its failure (a full disk) is the copy's failure.
      closed = true;
      await agentCall(ctx, dom, 'guest-file-close', { handle });
    } finally {
      if (!closed) await agentCall(ctx, dom, 'guest-file-close', { handle }).catch(() => {});
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/** guest-file-write may write less than it was given (it reports the count): the rest goes again. */
async function writeAll(ctx: VmContext, dom: Domain, handle: number, data: Buffer, target: string) {
  for (let off = 0; off < data.length;) {
    const { count } = await agentCall<{ count: number }>(ctx, dom, 'guest-file-write', {
      handle,
      'buf-b64': data.subarray(off).toString('base64'),
    });
    if (!(count > 0)) {
      throw new RoostError('AGENT_COPY_FAILED', `the guest agent wrote nothing to ${quoted(target)}`, {
        hint: 'is the guest’s disk full? roost ssh NAME -- df -h',
      });
    }
    off += count;
  }
}

async function expectExec(ctx: VmContext, dom: Domain, argv: string[]): Promise<string> {
  const r = await guestExec(ctx, dom, argv);
  if (r.code !== 0) {
    const what = argv[0] === '/bin/sh' ? 'the copy' : argv[0];
    throw new RoostError(
      'AGENT_COPY_FAILED',
      `${what} in the guest failed: ${r.err.trim() || `exit ${r.code}`}`,
    );
  }
  return r.out;
}

/**
 * Reads a guest file into a temporary file beside the target, renamed into place once complete: a failed copy
 * leaves no half file.
 */
async function download(
  ctx: VmContext,
  dom: Domain,
  { src, target, preserve }: FileCopy,
  events: CopyEvents,
): Promise<number> {
  // Root copies the file (a regular one, reached through no link a guest user controls) to a root-only staging
  // directory, and the agent reads it from there.
  const [stage, meta = ''] = (await expectExec(ctx, dom, downloadPrepareArgv(src))).split('\n');
  try {
    return await readStaged(ctx, dom, `${stage}/f`, { src, target, preserve }, meta, events);
  } finally {
    await guestExec(ctx, dom, removeStageArgv(stage!)).catch(() => {});
  }
}

async function readStaged(
  ctx: VmContext,
  dom: Domain,
  path: string,
  { src, target, preserve }: FileCopy,
  meta: string,
  events: CopyEvents,
): Promise<number> {
  events({ type: 'file', label: src, size: Number(/ (\d+)\s*$/.exec(meta)?.[1] ?? NaN) || undefined });
  const handle = await agentCall<number>(ctx, dom, 'guest-file-open', { path, mode: 'r' });
  const part = join(dirname(target), `.${basename(target)}.roost-part-${process.pid}`);
  const fd = openSync(part, 'wx', 0o600);
  let total = 0;
  try {
    for (;;) {
      const r = await agentCall<{ count: number; 'buf-b64'?: string; eof: boolean }>(
        ctx,
        dom,
        'guest-file-read',
        {
          handle,
          count: READ_CHUNK,
        },
      );
      // A read that found nothing (a file ending on a chunk's edge) may carry no data at all.
      const buf = Buffer.from(r['buf-b64'] ?? '', 'base64');
      writeSync(fd, buf);
      total += buf.length;
      events({ type: 'bytes', done: total });
      if (r.eof || r.count === 0) break;
    }
    fsyncSync(fd);
    closeSync(fd);
    applyMeta(part, preserve ? meta : undefined);
    renameSync(part, target);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(part, { force: true });
    throw e;
  } finally {
    await agentCall(ctx, dom, 'guest-file-close', { handle }).catch(() => {});
  }
  return total;
}

/** Mode and mtime from `stat -c '%a %Y %s'` in the guest; without them, the usual mode a new file gets. */
function applyMeta(path: string, meta: string | undefined): void {
  const m = /^([0-7]{1,4}) (\d+) \d+\s*$/.exec(meta ?? '');
  if (!m) {
    const umask = process.umask();
    chmodSync(path, 0o666 & ~umask);
    return;
  }
  chmodSync(path, parseInt(m[1]!, 8));
  const mtime = Number(m[2]);
  utimesSync(path, mtime, mtime);
}
