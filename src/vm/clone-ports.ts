// roost clone's host ports: the ones given, or free ones like the source's, chosen and printed.
import type { ParsedDomain } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import { canBind, type ExistingForward } from '../net/port-check.js';
import { formatPortForward, forwardsOverlap, type PortForward } from '../net/port-spec.js';
import { toPortForward } from './forwards.js';

/**
 * The clone's forwards: the ones given, or for each of the source's a free host port (from the source's port
 * up, the same length for a range, on the same address) that no VM forwards and nothing on the host holds.
 */
export async function planClonePorts(
  parsed: ParsedDomain,
  given: PortForward[] | undefined,
  existing: ExistingForward[],
  bindable: (proto: 'tcp' | 'udp', address: string, port: number) => Promise<boolean> = canBind,
): Promise<{ ports: PortForward[]; chosenPorts: PortForward[] }> {
  if (given) return { ports: given, chosenPorts: [] };
  const taken = existing.map((e) => e.forward);
  const chosen: PortForward[] = [];
  const sourceForwards = parsed.nics
    .filter((n) => n.type === 'user' && n.backend === 'passt')
    .slice(0, 1)
    .flatMap((n) => n.ports.map(toPortForward));
  for (const f of sourceForwards) {
    const fwd = await freeForwardLike(f, [...taken, ...chosen], bindable);
    chosen.push(fwd);
  }
  return { ports: chosen, chosenPorts: chosen };
}

const PORT_SEARCH = 1000;

async function freeForwardLike(
  f: PortForward,
  taken: PortForward[],
  bindable: (proto: 'tcp' | 'udp', address: string, port: number) => Promise<boolean>,
): Promise<PortForward> {
  const span = f.hostEnd - f.hostStart;
  for (let start = f.hostStart + 1; start < f.hostStart + PORT_SEARCH && start + span < 65536; start++) {
    const candidate = { ...f, hostStart: start, hostEnd: start + span };
    if (taken.some((t) => forwardsOverlap(t, candidate))) continue;
    let free = true;
    for (let p = start; p <= start + span && free; p++) free = await bindable(f.proto, f.address, p);
    if (free) return candidate;
  }
  throw new RoostError(
    'NO_FREE_PORT',
    `no free host port for the clone's forward like ${formatPortForward(f)} within ${PORT_SEARCH} ports`,
    { hint: `give the clone's forwards yourself: --port HOST:${f.guestStart}` },
  );
}
