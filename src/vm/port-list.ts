// roost port ls: a VM's forwards as saved and as the running passt has them, one row each.
import { parseDomainXml, type ParsedDomain, type ParsedNic } from '../domain-xml/parse.js';
import type { PortForwardSpec } from '../domain-xml/spec.js';
import { RoostError, UsageError } from '../errors.js';
import { DomainXmlFlags, type Domain } from '../libvirt/types.js';
import { formatPortForward, type PortForward } from '../net/port-spec.js';
import { exposesToNetwork, fromPortForwardSpec, sameForward } from '../net/ports.js';
import type { VmContext } from './context.js';
import type { ForwardState, PortList, PortRow } from '../shared/api-types.js';
import { readVm } from './lookup.js';
import { readAutoPorts } from './auto-ports.js';
import { livePorts } from './port-replug.js';

export interface PasstNic {
  index: number;
  nic: ParsedNic & { mac: string };
}

export function passtNic(parsed: ParsedDomain, name: string): PasstNic {
  const index = parsed.nics.findIndex((n) => n.type === 'user' && n.backend === 'passt');
  const nic = parsed.nics[index];
  if (nic === undefined) {
    const kinds = parsed.nics.map((n) => (n.type === 'user' ? `user (${n.backend})` : n.type)).join(', ');
    throw new UsageError(
      'NO_PASST_NIC',
      `VM '${name}' has no passt network interface (${kinds || 'no NIC at all'}): only passt forwards ports`,
      {
        hint: parsed.nics.some((n) => n.type === 'bridge' || n.type === 'network')
          ? `a bridged VM is reached at its own address: roost ip ${name}`
          : 'create the VM with --network user (the default)',
      },
    );
  }
  if (nic.mac === undefined) {
    throw new RoostError('NIC_WITHOUT_MAC', `VM '${name}': its passt NIC has no MAC address in the XML`);
  }
  return { index, nic: { ...nic, mac: nic.mac } };
}

function hostText(f: PortForward): string {
  return f.hostEnd === f.hostStart ? `${f.hostStart}` : `${f.hostStart}-${f.hostEnd}`;
}

function guestText(f: PortForward): string {
  const end = f.guestStart + (f.hostEnd - f.hostStart);
  return end === f.guestStart ? `${f.guestStart}` : `${f.guestStart}-${end}`;
}

function row(f: PortForward, state: ForwardState): PortRow {
  return {
    spec: formatPortForward(f),
    proto: f.proto,
    address: f.address,
    host: hostText(f),
    guest: guestText(f),
    state,
    exposed: exposesToNetwork(f),
  };
}

/** The rows of `port ls`: the persistent forwards, and on a running VM how each compares with the live NIC. */
export function portRows(
  persistent: readonly PortForwardSpec[],
  live: readonly PortForwardSpec[] | null,
): PortRow[] {
  const conf = persistent.map(fromPortForwardSpec);
  if (live === null) return conf.map((f) => row(f, 'configured'));
  const now = live.map(fromPortForwardSpec);
  return [
    ...conf.map((f) => row(f, now.some((g) => sameForward(f, g)) ? 'active' : 'next-start')),
    ...now.filter((g) => !conf.some((f) => sameForward(f, g))).map((g) => row(g, 'removed-at-next-start')),
  ];
}

export function liveNicPorts(ctx: VmContext, dom: Domain, mac: string): Promise<PortForwardSpec[] | null> {
  return livePorts(ctx, { dom, mac });
}

export async function listPorts(ctx: VmContext, name: string): Promise<PortList> {
  const list = await readVm(ctx, name, (dom) => portsOf(ctx, name, dom));
  const tunnel = await tunnelOf(ctx);
  return { ...list, ports: list.ports.map((p) => ({ ...p, tunnel: tunnel(p) })) };
}

/** How a row is reached from here: through ssh -L for a VM of another host; as it is (null) for one of this host. */
async function tunnelOf(ctx: VmContext): Promise<(row: PortRow) => string | null> {
  // Loaded only here and only then: a local `port ls` never pays for the remote modules.
  const { isRemote } = await import('./remote.js');
  if (!isRemote(ctx)) return () => null;
  const { forwardCommand } = await import('./remote-tunnel.js');
  return (row) => forwardCommand(ctx, row);
}

async function portsOf(
  ctx: VmContext,
  name: string,
  dom: Domain,
): Promise<Omit<PortList, 'ports'> & { ports: PortRow[] }> {
  const parsed = parseDomainXml(await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE));
  const running = await ctx.client.isActive(dom);
  const index = parsed.nics.findIndex((n) => n.type === 'user' && n.backend === 'passt');
  const nic = parsed.nics[index];
  const live = running && nic?.mac !== undefined ? await liveNicPorts(ctx, dom, nic.mac) : null;
  // Ports the auto-ports watcher forwards through ssh (vm/auto-ports.ts), while it runs — a bridged VM's too,
  // which has no passt NIC and so no other rows.
  const auto = running ? (readAutoPorts(ctx.paths, name)?.ports ?? []) : [];
  const autoRows: PortRow[] = auto.map((p) => ({
    spec: `127.0.0.1:${p}:${p}/tcp`,
    proto: 'tcp',
    address: '127.0.0.1',
    host: String(p),
    guest: String(p),
    state: 'auto',
    exposed: false,
  }));
  const passtRows = nic === undefined ? [] : portRows(nic.ports, live);
  return { name, running, mac: nic?.mac ?? null, ports: [...passtRows, ...autoRows] };
}
