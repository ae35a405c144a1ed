// Refusing a port forward before anything changes: a privileged port passt cannot open, a port another
// program already listens on, or one another VM already forwards. passt itself would only fail at VM start,
// with a message in a log file; we say it up front, with the reason.
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { UsageError } from '../errors.js';
import { formatPortForward, forwardsOverlap, type PortForward } from './port-spec.js';
import { hostListeners, type HostListener } from './host-listeners.js';

export { hostListeners, listenerInodes, parseHostListeners, type HostListener } from './host-listeners.js';

/** A forward some VM already has, for conflict checks. */
export interface ExistingForward {
  vm: string;
  forward: PortForward;
}

/** The lowest port an unprivileged process may bind (Linux: net.ipv4.ip_unprivileged_port_start, default 1024). */
export function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  } catch {
    return 1024;
  }
}

export interface PortCheckOptions {
  uid?: number;
  /** Forwards of other VMs (the VM being edited must not be in this list). */
  existing?: ExistingForward[];
  /** Skip the "in use on the host" probe (for a VM that is itself running and holds these ports). */
  skipBindProbe?: boolean;
  /**
   * passt runs on another host (a remote connection): its listening sockets, checked instead of a bind probe
   * here, which would test this host's ports.
   */
  remote?: RemoteListeners;
}

/** The listening sockets of the host passt runs on when that is another one, and how to name it. */
export interface RemoteListeners {
  /** The host, as the error names it: e.g. "the remote host alice@lab:2222". */
  where: string;
  /** The command that finds the program holding a port there. */
  findHint: (proto: 'tcp' | 'udp', port: number) => string;
  listeners: readonly HostListener[];
}

/** Throws a UsageError naming the first problem; resolves when every forward can be set up. */
export async function checkForwards(forwards: PortForward[], opts: PortCheckOptions = {}): Promise<void> {
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const lowest = unprivilegedPortStart();
  for (const [i, f] of forwards.entries()) {
    const spec = formatPortForward(f);
    if (uid !== 0 && f.hostStart < lowest) {
      throw new UsageError(
        'PORT_PRIVILEGED',
        `cannot forward host port ${f.hostStart} (${spec}): ports below ${lowest} need root, and passt runs as you`,
        {
          hint: `use a host port of ${lowest} or more, e.g. ${f.hostStart + 8000 < 65536 ? f.hostStart + 8000 : lowest}:${f.guestStart}`,
        },
      );
    }
    for (const other of forwards.slice(0, i)) {
      if (forwardsOverlap(f, other)) {
        throw new UsageError(
          'PORT_CONFLICT',
          `port forwards ${formatPortForward(other)} and ${spec} overlap`,
        );
      }
    }
    const taken = opts.existing?.find((e) => forwardsOverlap(e.forward, f));
    if (taken) {
      throw new UsageError(
        'PORT_CONFLICT',
        `host port ${f.hostStart} (${spec}) is already forwarded to VM '${taken.vm}' (${formatPortForward(taken.forward)})`,
        {
          hint: `pick another host port, or remove it there: roost port rm ${taken.vm} ${formatPortForward(taken.forward)}`,
        },
      );
    }
    if (opts.skipBindProbe) continue;
    if (opts.remote) {
      checkRemoteFree(f, spec, opts.remote);
      continue;
    }
    for (let port = f.hostStart; port <= f.hostEnd; port++) {
      const problem = await bindProblem(f.proto, f.address, port);
      if (problem) throw new UsageError(problem.code, problem.message(spec), { hint: problem.hint });
    }
  }
}

/** Whether a socket listening on `l` stands in the way of passt listening on `address`:`port`. */
export function listenerHolds(
  l: Pick<HostListener, 'proto' | 'address' | 'port'>,
  proto: 'tcp' | 'udp',
  address: string,
  port: number,
): boolean {
  if (l.proto !== proto || l.port !== port) return false;
  if (l.address === address || l.address === '::' || address === '::') return true; // '::' is dual-stack
  const v4 = (a: string) => !a.includes(':');
  return (l.address === '0.0.0.0' && v4(address)) || (address === '0.0.0.0' && v4(l.address));
}

/** A forward whose port another program already listens on, on the remote host passt will run on. */
function checkRemoteFree(f: PortForward, spec: string, remote: RemoteListeners): void {
  for (let port = f.hostStart; port <= f.hostEnd; port++) {
    if (!remote.listeners.some((l) => listenerHolds(l, f.proto, f.address, port))) continue;
    throw new UsageError(
      'PORT_IN_USE',
      `host port ${port}/${f.proto} on ${f.address} of ${remote.where} is already in use by another program (${spec})`,
      { hint: `pick another host port, or find the program there with: ${remote.findHint(f.proto, port)}` },
    );
  }
}

/** Why a host port cannot be listened on, in a user's words; the message takes the forward's spec. */
export interface BindProblem {
  code: 'PORT_IN_USE' | 'PORT_ADDRESS_NOT_AVAILABLE' | 'PORT_PRIVILEGED' | 'PORT_UNAVAILABLE';
  message: (spec: string) => string;
  hint: string;
}

/** Tries to bind the port the way passt will; null when it can be, else what stands in the way. */
export async function bindProblem(
  proto: 'tcp' | 'udp',
  address: string,
  port: number,
): Promise<BindProblem | null> {
  const code = await bindError(proto, address, port);
  if (code === null) return null;
  const where = `host port ${port}/${proto} on ${address}`;
  switch (code) {
    case 'EADDRINUSE':
      return {
        code: 'PORT_IN_USE',
        message: (spec) => `${where} is already in use by another program (${spec})`,
        hint: `pick another host port, or find the program with: ss -lnp${proto === 'udp' ? 'u' : 't'} 'sport = :${port}'`,
      };
    case 'EADDRNOTAVAIL':
      return {
        code: 'PORT_ADDRESS_NOT_AVAILABLE',
        message: (spec) => `this host has no address ${address}: passt cannot listen on it (${spec})`,
        hint: `use 127.0.0.1 (this host only), 0.0.0.0 (every address), or one of: ip -brief address`,
      };
    case 'EACCES':
      return {
        code: 'PORT_PRIVILEGED',
        message: (spec) => `${where} may not be opened by this user (${spec})`,
        hint: 'use a host port of 1024 or more',
      };
    default:
      return {
        code: 'PORT_UNAVAILABLE',
        message: (spec) => `${where} cannot be listened on: ${code} (${spec})`,
        hint: 'pick another host port or address',
      };
  }
}

/** Tries to bind the port the way passt will, and releases it at once. */
export async function canBind(proto: 'tcp' | 'udp', address: string, port: number): Promise<boolean> {
  return (await bindError(proto, address, port)) === null;
}

/** The errno of binding the port (EADDRINUSE, EADDRNOTAVAIL, EACCES…), or null when it binds. */
function bindError(proto: 'tcp' | 'udp', address: string, port: number): Promise<string | null> {
  const codeOf = (e: NodeJS.ErrnoException) => e.code ?? e.message;
  return new Promise((resolve) => {
    if (proto === 'tcp') {
      const srv = createServer();
      srv.once('error', (e: NodeJS.ErrnoException) => resolve(codeOf(e)));
      srv.listen({ port, host: address, exclusive: true }, () => srv.close(() => resolve(null)));
    } else {
      const sock = createSocket(address.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', (e: NodeJS.ErrnoException) => {
        sock.close();
        resolve(codeOf(e));
      });
      sock.bind(port, address, () => sock.close(() => resolve(null)));
    }
  });
}

/** passt exiting because it could not listen on a forwarded port (libvirt passes its last words on). */
export function isPasstBindFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (/passt/i.test(e.message) && /bind|listen/i.test(e.message)) return true;
    if (/Failed to bind (any )?port/i.test(e.message)) return true;
  }
  return false;
}

/**
 * roost's account of a passt that could not bind: the forward that fails now (each is probed again, the way
 * passt binds it), and why — in use by another program, an address this host does not have — with the fix.
 * Undefined when every forward binds now (the port was freed since): the caller keeps the original error.
 */
export async function explainBindFailure(
  forwards: readonly PortForward[],
  vm: string,
): Promise<{ code: BindProblem['code']; message: string; hint: string } | undefined> {
  for (const f of forwards) {
    for (let port = f.hostStart; port <= f.hostEnd; port++) {
      const problem = await bindProblem(f.proto, f.address, port);
      if (!problem) continue;
      const spec = formatPortForward(f);
      return {
        code: problem.code,
        message: problem.message(spec),
        hint: `${problem.hint}; or move the forward: roost port rm ${vm} ${spec}, then roost port add ${vm} …`,
      };
    }
  }
  return undefined;
}

// --- who listens on a forwarded port, after the fact ------------------------------------------------------------
//
// passt given several forwards binds those it can and drops the others without failing (it fails only when it can
// bind none), so a VM can start "fine" with a forward that leads nowhere. roost reads the host's listening sockets
// (/proc/net/tcp, tcp6, udp, udp6; host-listeners.ts) before and after passt starts. passt makes itself unreadable (not dumpable:
// its /proc/PID/fd is root's), so its sockets are known as what it adds: a listener on a forwarded port that is
// the user's own and new since before the start is passt's; one that was there before belongs to another
// program, which the error names.

/** The inodes of a process's sockets (readable for the caller's own processes only). */
export function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // Closed while we looked.
    }
  }
  return inodes;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** Whether a socket bound to `a` takes the port from one on `b` (the same address, or either is a wildcard). */
function addressesClash(a: string, b: string): boolean {
  return a === b || WILDCARDS.has(a) || WILDCARDS.has(b);
}

/** A forwarded host port that the VM's passt does not listen on, and who does, if anyone. */
export interface UnboundPort {
  forward: PortForward;
  port: number;
  /** 'pid 123 (python3)', 'a process of user alice (uid 1001)'; undefined when nothing listens on it. */
  holder?: string;
}

/**
 * The ports of `forwards` that no new socket of this user listens on: `before` holds the inodes of the
 * listeners from before passt started (listenerInodes), `listeners` the ones now.
 */
export function unboundPorts(
  forwards: readonly PortForward[],
  before: ReadonlySet<number>,
  listeners: readonly HostListener[] = hostListeners(),
  uid: number = process.getuid?.() ?? -1,
): UnboundPort[] {
  const out: UnboundPort[] = [];
  for (const f of forwards) {
    for (let port = f.hostStart; port <= f.hostEnd; port++) {
      const on = listeners.filter(
        (l) => l.proto === f.proto && l.port === port && addressesClash(l.address, f.address),
      );
      if (on.some((l) => l.uid === uid && !before.has(l.inode))) continue;
      const other = on.find((l) => before.has(l.inode)) ?? on[0];
      out.push({ forward: f, port, holder: other ? holderOf(other) : undefined });
    }
  }
  return out;
}

/** Who holds a socket, as precisely as this user may know: the process if it is ours, else its user. */
export function holderOf(l: Pick<HostListener, 'uid' | 'inode'>, procDir = '/proc'): string {
  const me = process.getuid?.();
  if (l.uid === me) {
    let pids: string[] = [];
    try {
      pids = readdirSync(procDir).filter((e) => /^\d+$/.test(e));
    } catch {
      // No /proc: fall back to the user.
    }
    for (const pid of pids) {
      if (!socketInodes(Number(pid)).has(l.inode)) continue;
      let comm = '?';
      try {
        comm = readFileSync(`${procDir}/${pid}/comm`, 'utf8').trim();
      } catch {
        // It exited meanwhile: the pid is still the best name.
      }
      return `pid ${pid} (${comm})`;
    }
  }
  return `a process of ${userName(l.uid)}`;
}

function userName(uid: number): string {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    const name = line?.split(':')[0];
    if (name) return `user ${name} (uid ${uid})`;
  } catch {
    // Fall through to the bare uid.
  }
  return `uid ${uid}`;
}

/** The message for a forward that is not in effect: which port, who holds it, and the fix. */
export function unboundMessage(vm: string, u: UnboundPort): { message: string; hint: string } {
  const spec = formatPortForward(u.forward);
  const where = `host port ${u.port}/${u.forward.proto} on ${u.forward.address}`;
  return {
    message: u.holder
      ? `${where} (${spec}) is held by ${u.holder}: passt could not listen on it`
      : `${where} (${spec}) is not listened on: passt did not take it`,
    hint: u.holder
      ? `stop that program or free the port, or move the forward: roost port rm ${vm} ${spec}, then roost port add ${vm} …`
      : `see the VM's QEMU log: roost logs ${vm} --qemu`,
  };
}
