// roost exec: one command run in the guest by its guest agent (qemu-guest-agent's guest-exec), no network and
// no ssh needed. The agent starts the process with its output captured, roost polls guest-exec-status until it
// has exited, and hands back its exit status and its output (base64 on the wire: binary-safe).
//
// What the agent cannot do, and so roost does not promise: stream output while the command runs (the agent
// gives it only once the process has exited), give it a terminal, or stop it after a timeout (guest-exec has
// no kill: the process runs on in the guest, and the timeout error says so).
import { RoostError, UsageError } from '../errors.js';
import { parseDomainXml } from '../domain-xml/parse.js';
import { LibvirtError, VirErrorCode } from '../libvirt/errors.js';
import { DomainState, type Domain } from '../libvirt/types.js';
import type { VmContext } from './context.js';
import { quoted } from './input.js';
import { readVm } from './lookup.js';

/**
 * The most stdin roost passes on. It travels base64-encoded inside one agent command, and libvirt caps the
 * strings of an RPC message at a few MiB: 1 MiB keeps well clear of that (use roost cp or ssh for more).
 */
export const EXEC_INPUT_MAX_BYTES = 1024 * 1024;

/** How long one agent call may take before the agent counts as not answering (seconds). */
const AGENT_CALL_TIMEOUT_S = 10;

/** The poll interval starts short (most commands are quick) and grows to this. */
const MAX_POLL_MS = 250;

export interface ExecOptions {
  /** Bytes for the command's stdin (at most EXEC_INPUT_MAX_BYTES); none: stdin is empty. */
  input?: Buffer;
  /** Give up waiting after this long (ms); default: wait as long as the command runs. */
  timeoutMs?: number;
}

export interface ExecResult {
  /** The exit code, or 128 + the signal number when a signal ended the process (as a shell reports it). */
  exitCode: number;
  /** The signal that ended the process, or null. */
  signal: number | null;
  stdout: Buffer;
  stderr: Buffer;
  /** The agent keeps at most 16 MiB of each stream: true when it cut this one. */
  truncated: boolean;
}

/** The command did not start in the guest (no such program, not executable): a shell exits 127 then. */
export class GuestCommandNotStartedError extends RoostError {}

/** The command was still running when --timeout ran out: exit 124, as timeout(1). */
export class ExecTimeoutError extends RoostError {}

interface AgentExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
  'out-truncated'?: boolean;
  'err-truncated'?: boolean;
}

/** Runs argv[0] with argv[1…] in the running VM `name`, waits for it and returns its status and output. */
export async function execInVm(
  ctx: VmContext,
  name: string,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  checkExecInput(argv, opts);
  const dom = await readVm(ctx, name, (d) => checkRunningWithAgent(ctx, d, name));
  const pid = await startInGuest(ctx, dom, name, argv, opts.input);
  const status = await waitForExit(ctx, dom, name, pid, opts.timeoutMs);
  return resultOf(status);
}

function checkExecInput(argv: readonly string[], opts: ExecOptions): void {
  if (argv.length === 0 || argv[0] === '')
    throw new UsageError('EXEC_NO_COMMAND', 'no command to run: give it after --', {
      hint: 'roost exec NAME -- uname -a',
    });
  if (opts.input && opts.input.length > EXEC_INPUT_MAX_BYTES)
    throw new UsageError(
      'EXEC_INPUT_TOO_LARGE',
      `stdin is ${opts.input.length} bytes: roost exec passes on at most ${EXEC_INPUT_MAX_BYTES}`,
      { hint: 'copy larger files with roost cp, or pipe them through roost ssh NAME -- CMD' },
    );
}

/** The VM, once it is known to run and to have the agent's channel; else the refusal with what to do. */
async function checkRunningWithAgent(ctx: VmContext, dom: Domain, name: string): Promise<Domain> {
  const [state, xml] = await Promise.all([
    dom.id < 0 ? DomainState.SHUTOFF : ctx.client.getState(dom).then((s) => s.state),
    ctx.client.getXml(dom),
  ]);
  if (state !== DomainState.RUNNING)
    throw new RoostError(
      'VM_NOT_RUNNING',
      `VM ${quoted(name)} is not running: a command needs a running guest`,
      {
        hint: `start it: roost start ${name}`,
      },
    );
  if (!parseDomainXml(xml).guestAgent)
    throw new RoostError(
      'EXEC_NO_AGENT_CHANNEL',
      `VM ${quoted(name)} has no guest agent channel: roost exec runs commands through qemu-guest-agent`,
      {
        hint:
          "add the channel (virsh edit: <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>; " +
          `roost create adds it to every VM), install qemu-guest-agent in the guest, or use: roost ssh ${name} -- CMD`,
      },
    );
  return dom;
}

async function startInGuest(
  ctx: VmContext,
  dom: Domain,
  name: string,
  argv: readonly string[],
  input: Buffer | undefined,
): Promise<number> {
  const args: Record<string, unknown> = { path: argv[0], arg: argv.slice(1), 'capture-output': true };
  if (input && input.length > 0) args['input-data'] = input.toString('base64');
  const reply = await agentCall<{ pid: number }>(ctx, dom, name, 'guest-exec', args, argv[0]!);
  return reply.pid;
}

async function waitForExit(
  ctx: VmContext,
  dom: Domain,
  name: string,
  pid: number,
  timeoutMs: number | undefined,
): Promise<AgentExecStatus> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, MAX_POLL_MS)) {
    const status = await agentCall<AgentExecStatus>(ctx, dom, name, 'guest-exec-status', { pid });
    if (status.exited) return status;
    if (Date.now() >= deadline)
      throw new ExecTimeoutError(
        'EXEC_TIMEOUT',
        `the command in VM ${quoted(name)} was still running after ${Math.round(timeoutMs! / 1000)} s (guest pid ${pid}); the guest agent cannot stop it, so it runs on`,
        { hint: `stop it yourself if need be: roost exec ${name} -- kill ${pid}` },
      );
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, deadline - Date.now()))));
  }
}

/** One guest-agent command and its `return` value; the agent's failures said in roost's terms. */
async function agentCall<T>(
  ctx: VmContext,
  dom: Domain,
  name: string,
  execute: string,
  args: Record<string, unknown>,
  program?: string,
): Promise<T> {
  let reply: string | null;
  try {
    reply = await ctx.client.agentCommand(
      dom,
      JSON.stringify({ execute, arguments: args }),
      AGENT_CALL_TIMEOUT_S,
    );
  } catch (e) {
    throw explainAgentFailure(e, name, program);
  }
  const parsed = JSON.parse(reply ?? 'null') as { return?: T } | null;
  if (!parsed || parsed.return === undefined)
    throw new RoostError(
      'EXEC_AGENT_REPLY',
      `the guest agent of VM ${quoted(name)} gave no answer to ${execute}`,
    );
  return parsed.return;
}

const AGENT_ABSENT = new Set<number>([VirErrorCode.AGENT_UNRESPONSIVE, VirErrorCode.AGENT_COMMAND_TIMEOUT]);

function explainAgentFailure(e: unknown, name: string, program: string | undefined): unknown {
  if (!(e instanceof LibvirtError)) return e;
  if (AGENT_ABSENT.has(e.virErrorCode) || /guest agent is not (connected|responding)/i.test(e.message))
    return new RoostError(
      'EXEC_AGENT_NOT_ANSWERING',
      `the guest agent of VM ${quoted(name)} does not answer (${e.message})`,
      {
        hint:
          'install and start qemu-guest-agent in the guest (Debian/Ubuntu: apt install qemu-guest-agent; it starts on ' +
          `the channel roost adds, org.qemu.guest_agent.0); a guest still booting answers once it is up; or use: roost ssh ${name} -- CMD`,
        cause: e,
      },
    );
  if (/has been disabled|not allowed|blocked/i.test(e.message))
    return new RoostError(
      'EXEC_DISABLED',
      `the guest agent of VM ${quoted(name)} refuses guest-exec (${e.message})`,
      {
        hint: "allow it in the guest's qemu-guest-agent configuration (--allow-rpcs / block-rpcs), or use roost ssh",
        cause: e,
      },
    );
  if (program !== undefined)
    return new GuestCommandNotStartedError(
      'EXEC_NOT_STARTED',
      `${quoted(program)} could not be started in VM ${quoted(name)}: ${agentReason(e.message)}`,
      {
        hint: 'give the program by its path or by a name on the agent\'s PATH; a shell line: roost exec NAME -- sh -c "…"',
        cause: e,
      },
    );
  return e;
}

/**
 * What the agent said, without libvirt's wrapping: "Guest agent command failed, error was '…'" (libvirt 9 and
 * later) or "internal error: unable to execute QEMU agent command 'guest-exec': …".
 */
function agentReason(message: string): string {
  const wrapped = /error was '(.*)'$/s.exec(message);
  return wrapped ? wrapped[1]! : message.replace(/^.*?agent command '[^']*':\s*/i, '');
}

function resultOf(s: AgentExecStatus): ExecResult {
  const signal = typeof s.signal === 'number' ? s.signal : null;
  return {
    exitCode: signal !== null ? 128 + signal : (s.exitcode ?? 0),
    signal,
    stdout: Buffer.from(s['out-data'] ?? '', 'base64'),
    stderr: Buffer.from(s['err-data'] ?? '', 'base64'),
    truncated: !!(s['out-truncated'] || s['err-truncated']),
  };
}
