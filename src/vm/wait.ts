// `create --wait`: what "ready" means after a VM starts.
import { RoostError, UsageError } from '../errors.js';
import { waitForPort } from '../net/wait-port.js';
import { parsePortForward, type PortForward } from '../net/port-spec.js';
import type { VmContext } from './context.js';
import type { CreateResult } from './create.js';

export type WaitFor = { kind: 'none' } | { kind: 'port'; port: number };

/** Parses --wait and checks it against the --port list, before anything is created. */
export function checkWait(text: string, portSpecs: string[]): WaitFor {
  const w = parseWait(text);
  if (w.kind === 'port') forwardFor(portSpecs.map(parsePortForward), w.port);
  return w;
}

export function parseWait(text: string): WaitFor {
  if (text === 'none') return { kind: 'none' };
  const m = /^port:(\d{1,5})$/.exec(text);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) return { kind: 'port', port: Number(m[1]) };
  throw new UsageError(
    'INVALID_WAIT',
    `invalid --wait '${text}': use 'port:N' (a guest port you forward) or 'none'`,
  );
}

/** The forward that carries guest port `port`; a UsageError (checked before anything is created) if none. */
export function forwardFor(ports: PortForward[], port: number): PortForward {
  const fwd = ports.find(
    (p) => p.proto === 'tcp' && p.guestStart <= port && port <= p.guestStart + (p.hostEnd - p.hostStart),
  );
  if (!fwd) {
    throw new UsageError(
      'INVALID_WAIT',
      `--wait port:${port}: guest port ${port} is not forwarded over TCP (add --port HOST:${port})`,
    );
  }
  return fwd;
}

/** Waits until the guest port answers through its forward; returns how long it took. */
export async function waitAfterCreate(
  _ctx: VmContext,
  r: CreateResult,
  w: WaitFor,
  timeoutS: number,
): Promise<number | undefined> {
  if (w.kind !== 'port') return undefined;
  const fwd = forwardFor(r.ports, w.port);
  const hostPort = fwd.hostStart + (w.port - fwd.guestStart);
  const host = fwd.address === '0.0.0.0' ? '127.0.0.1' : fwd.address === '::' ? '::1' : fwd.address;
  const ms = await waitForPort(host, hostPort, { timeoutMs: timeoutS * 1000 });
  if (ms === undefined) {
    throw new RoostError(
      'WAIT_TIMEOUT',
      `guest port ${w.port} did not answer on ${host}:${hostPort} within ${timeoutS} s`,
      {
        hint: `the VM is running; look at its console output: roost logs ${r.name}`,
      },
    );
  }
  return ms;
}
