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
        if (!(await canBind(f.proto, f.address, port))) {
          throw new UsageError(
            'PORT_IN_USE',
            `host port ${port}/${f.proto} on ${f.address} is already in use by another program (${spec})`,
            {
              hint: `pick another host port, or find the program with: ss -lnp${f.proto === 'udp' ? 'u' : 't'} 'sport = :${port}'`,
            },
          );
        }
      }
    }
  }
}

/** Tries to bind the port the way passt will, and releases it at once. */
export function canBind(proto: 'tcp' | 'udp', address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'tcp') {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host: address, exclusive: true }, () => srv.close(() => resolve(true)));
    } else {
      const sock = createSocket(address.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', () => {
        sock.close();
        resolve(false);
      });
      sock.bind(port, address, () => sock.close(() => resolve(true)));
    }
  });
}
