// Refusing a port forward before anything changes: a privileged port passt cannot open, a port another
// program already listens on, or one another VM already forwards. passt itself would only fail at VM start,
// with a message in a log file; we say it up front, with the reason.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { UsageError } from '../errors.js';
import { formatPortForward, forwardsOverlap, type PortForward } from './port-spec.js';

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
    if (!opts.skipBindProbe) {
      for (let port = f.hostStart; port <= f.hostEnd; port++) {
        const problem = await bindProblem(f.proto, f.address, port);
        if (problem) throw new UsageError(problem.code, problem.message(spec), { hint: problem.hint });
      }
    }
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
