// roost cp SRC… DEST: copying files between the host and a VM, with NAME:PATH on exactly one side.
//
// The copy goes over the VM's ssh route, the one `roost ssh` takes (its forward to guest port 22, or the address a
// bridged VM has), with the same host-key checking and login (ssh.ts). The program is OpenSSH's scp in its SFTP
// mode (`scp -s`): the remote side is the guest's sftp-server, so no remote shell ever reads a path — a name with
// spaces, quotes, `$(…)` or a leading '-' is a name. scp still expands glob characters in remote *sources* itself
// (the SFTP glob, not a shell); roost escapes them, so a remote path is always taken literally.
//
// A VM with no ssh route whose guest agent answers is copied through the agent's file calls instead (agent-copy.ts).
import { readdirSync, lstatSync, statSync, type Stats } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
import { parseDomainXml } from '../domain-xml/parse.js';
import { RoostError, UsageError } from '../errors.js';
import { kindOf } from '../file-kind.js';
import type { RoostPaths } from '../paths.js';
import type { CopyResult, CopyRoute } from '../shared/files.js';
import type { VmContext } from './context.js';
import { checkVmRef, quoted } from './input.js';
import { lookupVm, stateName } from './lookup.js';
import { runScp, scpArgs } from './scp.js';
import { resolveSshTarget, type SshTarget } from './ssh.js';

export type CopyDirection = 'to-guest' | 'from-guest';

/** One operand as the user wrote it: NAME:PATH in a VM, or a path on this host. */
export type CopyOperand = { kind: 'remote'; vm: string; path: string } | { kind: 'local'; path: string };

/** What to copy, checked: one VM, one direction, local paths absolute. */
export interface CopyPlan {
  vm: string;
  direction: CopyDirection;
  /** Local sources are absolute; remote ones as given ('' becomes '.', the login's home, as with scp). */
  sources: string[];
  destination: string;
  recursive: boolean;
  preserve: boolean;
}

export interface CopyOptions {
  recursive?: boolean;
  /** Keep modes and modification times (default true, like `scp -p`). */
  preserve?: boolean;
  /** Relative local paths are taken from here (default: the process's working directory). */
  cwd?: string;
}

/**
 * Reads one operand with scp's rule: a colon before the first slash makes it NAME:PATH; a local file whose name
 * has a colon is written with a slash before it (./a:b), as with scp.
 */
export function parseOperand(arg: string): CopyOperand {
  const colon = arg.indexOf(':');
  const slash = arg.indexOf('/');
  if (colon < 0 || (slash >= 0 && slash < colon)) {
    if (arg === '') throw new UsageError('CP_EMPTY_PATH', 'an empty path names no file');
    return { kind: 'local', path: arg };
  }
  const vm = arg.slice(0, colon);
  if (vm === '') {
    throw new UsageError('CP_NO_VM', `${quoted(arg)} names no VM before its ':'`, {
      hint: `write NAME:PATH for a path in a VM, or ./${arg} for a local file`,
    });
  }
  checkVmRef(vm);
  return { kind: 'remote', vm, path: arg.slice(colon + 1) };
}

/** SRC… DEST read into a plan, without looking at any file: exactly one side names a VM, and only one VM. */
export function parseCopyOperands(args: readonly string[], opts: CopyOptions = {}): CopyPlan {
  if (args.length < 2) {
    throw new UsageError('CP_USAGE', 'roost cp needs a source and a destination: SRC… DEST', {
      hint: 'for example: roost cp ./notes.txt web:/tmp/  or  roost cp web:/etc/os-release .',
    });
  }
  const operands = args.map(parseOperand);
  const dest = operands[operands.length - 1]!;
  const sources = operands.slice(0, -1);
  const remoteSources = sources.filter((o) => o.kind === 'remote');
  if (dest.kind === 'remote' && remoteSources.length > 0) {
    throw new UsageError(
      'CP_BOTH_REMOTE',
      'both sides name a VM: roost cp copies between this host and one VM',
      {
        hint: 'copy to this host first, then on: roost cp a:/f ./f && roost cp ./f b:/f',
      },
    );
  }
  if (dest.kind === 'local' && remoteSources.length === 0) {
    throw new UsageError('CP_NO_REMOTE', 'neither side names a VM: write NAME:PATH on one side', {
      hint: 'for example: roost cp ./notes.txt web:/tmp/ (a local name with a colon: ./a:b)',
    });
  }
  if (dest.kind === 'local' && remoteSources.length < sources.length) {
    throw new UsageError('CP_MIXED_SOURCES', 'the sources mix VM paths and local paths: give one kind', {
      hint: 'copy in two commands, one for each direction',
    });
  }
  const vms = new Set(dest.kind === 'remote' ? [dest.vm] : remoteSources.map((o) => o.vm));
  if (vms.size > 1) {
    throw new UsageError(
      'CP_SEVERAL_VMS',
      `the sources name several VMs (${[...vms].join(', ')}): give one`,
      {
        hint: 'copy from each VM in a command of its own',
      },
    );
  }
  const cwd = opts.cwd ?? process.cwd();
  const local = (p: string) => resolve(cwd, p);
  const remote = (p: string) => (p === '' ? '.' : p);
  const toGuest = dest.kind === 'remote';
  return {
    vm: [...vms][0]!,
    direction: toGuest ? 'to-guest' : 'from-guest',
    sources: sources.map((o) => (toGuest ? local(o.path) : remote(o.path))),
    destination: toGuest ? remote(dest.path) : local(dest.path),
    recursive: opts.recursive ?? false,
    preserve: opts.preserve ?? true,
  };
}

/**
 * Checks the host's side before anything is copied, so that a typo fails with exit 2 and creates nothing:
 * sources that exist and can be sent (a directory only with -r), or a destination whose directory exists.
 */
export function checkLocalSide(plan: CopyPlan): void {
  if (plan.direction === 'to-guest') {
    for (const src of plan.sources) checkLocalSource(src, plan.recursive);
    return;
  }
  const dest = plan.destination;
  const st = statOrUndefined(dest);
  if (plan.sources.length > 1 && !st?.isDirectory()) {
    throw new UsageError(
      'CP_DEST_NOT_DIRECTORY',
      `${quoted(dest)} ${st ? 'is not a directory' : 'does not exist'}: several sources go into a directory`,
      { hint: `make it first: mkdir -p ${dest}` },
    );
  }
  if (st) {
    if (!st.isDirectory() && !st.isFile()) {
      throw new UsageError('CP_NOT_A_FILE', `${quoted(dest)} is not a regular file (${kindOf(st)})`);
    }
    return;
  }
  const parent = statOrUndefined(dirname(dest));
  if (!parent?.isDirectory()) {
    throw new UsageError('CP_DEST_PARENT_MISSING', `directory ${quoted(dirname(dest))} does not exist`, {
      hint: `make it first: mkdir -p ${dirname(dest)}`,
    });
  }
}

function checkLocalSource(src: string, recursive: boolean): void {
  const st = statOrUndefined(src);
  if (!st) {
    const dangling = lstatOrUndefined(src)?.isSymbolicLink();
    throw new UsageError(
      'CP_SOURCE_NOT_FOUND',
      `${quoted(src)} ${dangling ? 'is a symbolic link to nothing' : 'does not exist'}`,
      { hint: 'check the path (a local name with a colon is written ./a:b)' },
    );
  }
  if (st.isDirectory()) {
    if (!recursive) {
      throw new UsageError('CP_IS_DIRECTORY', `${quoted(src)} is a directory`, {
        hint: 'copy it with its contents: roost cp -r …',
      });
    }
    return;
  }
  if (!st.isFile()) {
    throw new UsageError('CP_NOT_A_FILE', `${quoted(src)} is not a regular file (${kindOf(st)})`, {
      hint: 'roost cp copies regular files and directories',
    });
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** What a copy reports as it goes, for a meter where the copying program draws none. */
export type CopyEvent =
  /** A file starts (or a whole tree, for -r over ssh); its size when known. */
  | { type: 'file'; label: string; size: number | undefined }
  /** Bytes of it copied so far. */
  | { type: 'bytes'; done: number }
  /** It is complete. */
  | { type: 'file-done'; label: string };
export type CopyEvents = (ev: CopyEvent) => void;

export interface CopyRunOptions {
  via?: CopyRoute | 'auto';
  /** No meter and nothing on stdout from the copying program. */
  quiet?: boolean;
  /** stdout is a terminal: scp draws its own meter there, one line per file. */
  terminal?: boolean;
  /** Told once which route the copy takes when it is not the one asked for or the usual one. */
  notice?: (line: string) => void;
  /** A line for the user: that the agent route is slower. */
  info?: (line: string) => void;
  /** The progress of what scp draws no meter for: the agent route, and -r (a line per file would flood). */
  events?: CopyEvents;
}

/** Copies as planned (checkLocalSide first), over ssh or the guest agent. */
export async function copyFiles(
  ctx: VmContext,
  plan: CopyPlan,
  opts: CopyRunOptions = {},
): Promise<CopyResult> {
  checkLocalSide(plan);
  const dom = await lookupVm(ctx, plan.vm);
  const { state } = await ctx.client.getState(dom);
  if (stateName(state) !== 'running') {
    throw new RoostError(
      'VM_NOT_RUNNING',
      `VM ${quoted(plan.vm)} is ${stateName(state)}: nothing to copy with`,
      {
        hint: `start it: roost start ${plan.vm} --wait ssh`,
      },
    );
  }
  const started = Date.now();
  const route = await chooseRoute(ctx, plan, opts);
  const events = opts.quiet ? () => {} : (opts.events ?? (() => {}));
  if (route.via === 'agent') {
    const { checkAgentPlan, copyThroughAgent } = await import('./agent-copy.js');
    checkAgentPlan(plan);
    if (!opts.quiet) opts.info?.('copying through the guest agent: slower than ssh, one file at a time');
    // The files an upload creates go to the VM's login user (roost's metadata), as over ssh.
    const owner =
      plan.direction === 'to-guest' ? parseDomainXml(await ctx.client.getXml(dom)).roost?.sshUser : undefined;
    const bytes = await copyThroughAgent(ctx, dom, plan, events, owner);
    return resultOf(plan, 'agent', bytes, started);
  }
  const landed = plan.direction === 'from-guest' ? landingPaths(plan) : [];
  await copyOverSsh(ctx.paths, route.target, plan, { ...opts, events, landed });
  const bytes = plan.direction === 'to-guest' ? sumBytes(plan.sources) : sumBytes(landed);
  return resultOf(plan, 'ssh', bytes, started);
}

/**
 * scp with its own meter for single files on a terminal. For -r it would draw a line per file, so scp runs quietly
 * and the tree is one meter of roost's: its size going in, what has landed so far coming out.
 */
async function copyOverSsh(
  paths: RoostPaths,
  target: SshTarget,
  plan: CopyPlan,
  opts: CopyRunOptions & { events: CopyEvents; landed: string[] },
): Promise<void> {
  const scpMeter = !opts.quiet && opts.terminal === true && !plan.recursive;
  const args = scpArgs(target, paths, plan, { quiet: !scpMeter });
  if (!plan.recursive) return runScp(args, !scpMeter);
  const toGuest = plan.direction === 'to-guest';
  const label = `${plan.sources.join(' ')} → ${toGuest ? `${plan.vm}:${plan.destination}` : plan.destination}`;
  opts.events({ type: 'file', label, size: toGuest ? sumBytes(plan.sources) : undefined });
  const tick = toGuest
    ? undefined
    : setInterval(() => opts.events({ type: 'bytes', done: sumBytes(opts.landed) }), 1000);
  try {
    await runScp(args, true);
  } finally {
    clearInterval(tick);
  }
  opts.events({ type: 'file-done', label });
}

type Route = { via: 'ssh'; target: SshTarget } | { via: 'agent' };

/** ssh when the VM has a route for it; the guest agent when asked, or when there is no ssh route but it answers. */
async function chooseRoute(ctx: VmContext, plan: CopyPlan, opts: CopyRunOptions): Promise<Route> {
  const via = opts.via ?? 'auto';
  if (via === 'agent') return { via: 'agent' };
  try {
    return { via: 'ssh', target: await resolveSshTarget(ctx, plan.vm) };
  } catch (e) {
    if (via === 'ssh' || !(e instanceof RoostError) || !NO_ROUTE_CODES.has(e.code)) throw e;
    const { agentAnswers } = await import('./agent-copy.js');
    if (!(await agentAnswers(ctx, await lookupVm(ctx, plan.vm)))) {
      throw new RoostError(
        'NO_COPY_ROUTE',
        `${e.message}, and no guest agent answers: nothing to copy with`,
        {
          hint: e.hint,
          cause: e,
        },
      );
    }
    opts.notice?.(`${e.message}: copying through the guest agent instead (slower)`);
    return { via: 'agent' };
  }
}

/** The ssh errors that mean "no way in" (as opposed to a refused metadata or a daemon failure). */
const NO_ROUTE_CODES = new Set(['NO_SSH_ROUTE', 'SSH_ADDRESS_UNKNOWN']);

/** Where each remote source lands on this host (for the byte count afterwards). */
function landingPaths(plan: CopyPlan): string[] {
  const intoDir = statOrUndefined(plan.destination)?.isDirectory() ?? false;
  if (!intoDir) return [plan.destination];
  return plan.sources.map((s) => resolve(plan.destination, posix.basename(s.replace(/\/+$/, '')) || '.'));
}

/** Bytes of regular files under the paths (directories walked, symbolic links not followed below the top). */
export function sumBytes(paths: readonly string[]): number {
  let total = 0;
  const walk = (p: string, top: boolean) => {
    const st = top ? statOrUndefined(p) : lstatOrUndefined(p);
    if (!st) return;
    if (st.isFile()) total += st.size;
    else if (st.isDirectory()) for (const e of readdirSync(p)) walk(resolve(p, e), false);
  };
  for (const p of paths) walk(p, true);
  return total;
}

function resultOf(plan: CopyPlan, via: CopyRoute, bytes: number, started: number): CopyResult {
  return {
    vm: plan.vm,
    direction: plan.direction,
    via,
    sources: plan.sources,
    destination: plan.destination,
    recursive: plan.recursive,
    preserved: plan.preserve,
    bytes,
    elapsedMs: Date.now() - started,
  };
}
