// roost ip NAME: a session VM's address, found without root (docs/architecture.md, host facts). For each NIC on
// a bridge or a libvirt network, by its MAC address, in this order — the first source that knows wins and is
// named:
//   1. the guest agent's guest-network-get-interfaces (exact, but needs qemu-guest-agent in the guest);
//   2. libvirt's DOMAIN_INTERFACE_ADDRESSES with source AGENT, then ARP (the daemon's neighbour table);
//   3. dnsmasq lease files this user can read: libvirt networks' /var/lib/libvirt/dnsmasq/*.status and
//      *.leases, the usual system dnsmasq files, and any file given with --lease-file or $ROOST_LEASE_FILES;
//   4. /proc/net/arp of the network namespace roost runs in (an entry appears once the host has talked to the
//      guest, e.g. dnsmasq answering its DHCP request).
// A passt NIC has no address the host can reach (the guest gets a copy of the host's own); its forwarded host
// endpoints are reported instead.
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { nicSource, parseDomainXml, type ParsedDomain, type ParsedNic } from '../domain-xml/parse.js';
import { RoostError } from '../errors.js';
import { DomainState, InterfaceAddressSource, type Domain } from '../libvirt/types.js';
import {
  addressKey,
  addressProblem,
  fromLibvirtInterfaces,
  leasesFor,
  normalizeMac,
  parseAgentInterfaces,
  parseLeaseFile,
  parseProcNetArp,
  runChain,
  type ChainStep,
  type FoundAddress,
} from '../net/ip-sources.js';
import type { PortForward } from '../net/port-spec.js';
import { fromPortForwardSpec } from '../net/ports.js';
import type { VmContext } from './context.js';
import { readVm, stateName } from './lookup.js';
import type { NicAddresses, VmAddresses } from '../shared/ports.js';

/** libvirt networks' dnsmasq files; roost host bridge-setup's own bridges (/var/lib/roost/BRIDGE.leases). */
export const LEASE_DIRS = ['/var/lib/libvirt/dnsmasq', '/var/lib/roost'];
export const LEASE_FILES = ['/var/lib/misc/dnsmasq.leases', '/var/lib/dnsmasq/dnsmasq.leases'];

export type { NicAddresses, VmAddresses } from '../shared/ports.js';

export interface IpOptions {
  /** Extra lease files to read (dnsmasq format or libvirt .status JSON). */
  leaseFiles?: string[];
  /** Where the neighbour table is read from (tests). */
  arpFile?: string;
  /** Agent timeout in seconds. */
  agentTimeoutS?: number;
  /** The host's own addresses in addressKey's spelling (tests); by default read from the host's interfaces. */
  hostAddresses?: Set<string>;
}

/** '127.0.0.1:8080 → 80/tcp', '[::1]:8000-8010 → 8000-8010/udp'. */
export function endpointText(f: PortForward): string {
  const range = (a: number, b: number) => (a === b ? `${a}` : `${a}-${b}`);
  const addr = f.address.includes(':') ? `[${f.address}]` : f.address;
  const guestEnd = f.guestStart + (f.hostEnd - f.hostStart);
  return `${addr}:${range(f.hostStart, f.hostEnd)} → ${range(f.guestStart, guestEnd)}/${f.proto}`;
}

function networkOf(n: ParsedNic): string {
  if (n.type === 'user') return `user (${n.backend})`;
  return nicSource(n);
}

/** Lease files this user may read: the options', $ROOST_LEASE_FILES (':'-separated) and the usual places. */
export function leaseFileCandidates(opts: IpOptions, env: NodeJS.ProcessEnv): string[] {
  const fromEnv = (env.ROOST_LEASE_FILES ?? '').split(':').filter(Boolean);
  const fromDirs = LEASE_DIRS.flatMap((dir) => {
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.status') || f.endsWith('.leases'))
        .map((f) => join(dir, f));
    } catch {
      return [];
    }
  });
  return [...new Set([...(opts.leaseFiles ?? []), ...fromEnv, ...fromDirs, ...LEASE_FILES])];
}

function readIfReadable(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function chainFor(ctx: VmContext, dom: Domain, mac: string, hasAgent: boolean, opts: IpOptions): ChainStep[] {
  const timeout = opts.agentTimeoutS ?? 2;
  return [
    {
      source: 'agent',
      run: async () => {
        if (!hasAgent) return 'the VM has no guest agent channel';
        const reply = await ctx.client.agentCommand(
          dom,
          JSON.stringify({ execute: 'guest-network-get-interfaces' }),
          timeout,
        );
        return parseAgentInterfaces(reply ?? '')
          .filter((i) => i.mac === mac)
          .flatMap((i) =>
            i.addresses.map((a): FoundAddress => ({ ...a, mac, source: 'agent', where: i.name })),
          );
      },
    },
    {
      source: 'libvirt-agent',
      run: async () => {
        if (!hasAgent) return 'the VM has no guest agent channel';
        return fromLibvirtInterfaces(
          await ctx.client.interfaceAddresses(dom, InterfaceAddressSource.AGENT),
          mac,
          'libvirt-agent',
        );
      },
    },
    {
      source: 'libvirt-arp',
      run: async () =>
        fromLibvirtInterfaces(
          await ctx.client.interfaceAddresses(dom, InterfaceAddressSource.ARP),
          mac,
          'libvirt-arp',
        ),
    },
    { source: 'lease-file', run: () => Promise.resolve(fromLeaseFiles(ctx, mac, opts)) },
    {
      source: 'arp-table',
      run: () => {
        const file = opts.arpFile ?? '/proc/net/arp';
        const text = readIfReadable(file);
        if (text === undefined) return Promise.resolve(`${file} is not readable`);
        return Promise.resolve(
          parseProcNetArp(text)
            .filter((e) => e.mac === mac)
            .map((e): FoundAddress => ({
              ip: e.ip,
              family: 'ipv4',
              mac,
              source: 'arp-table',
              where: e.device,
            })),
        );
      },
    },
  ];
}

/** A readable dnsmasq lease file's (or libvirt network status file's) entries for `mac`. */
function fromLeaseFiles(ctx: VmContext, mac: string, opts: IpOptions): FoundAddress[] | string {
  const now = Math.floor(Date.now() / 1000);
  const read = leaseFileCandidates(opts, ctx.env).flatMap((file) => {
    const text = readIfReadable(file);
    return text === undefined ? [] : [{ file, leases: leasesFor(parseLeaseFile(text), mac, now) }];
  });
  if (read.length === 0) return 'no lease file is readable';
  return read.flatMap(({ file, leases }) =>
    leases.map((l): FoundAddress => ({
      ip: l.ip,
      family: l.ip.includes(':') ? 'ipv6' : 'ipv4',
      mac,
      source: 'lease-file',
      where: file,
    })),
  );
}

/** The addresses this host itself holds, in addressKey's spelling. */
export function hostAddressKeys(): Set<string> {
  const keys = new Set<string>();
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) {
      const k = addressKey(a.address);
      if (k !== undefined) keys.add(k);
    }
  return keys;
}

/**
 * Why an address found for a guest is not used: addressProblem's classes, and any address of the host itself —
 * a guest that claims one (its agent answers what the guest likes) must not send `roost ssh` to the host.
 */
function refusedAddress(opts: IpOptions): (ip: string) => string | undefined {
  let own: Set<string> | undefined;
  return (ip) => {
    const why = addressProblem(ip);
    if (why !== undefined) return why;
    own ??= opts.hostAddresses ?? hostAddressKeys();
    const key = addressKey(ip);
    return key !== undefined && own.has(key) ? "the host's own address" : undefined;
  };
}

export async function vmAddresses(ctx: VmContext, name: string, opts: IpOptions = {}): Promise<VmAddresses> {
  return readVm(ctx, name, async (dom) => {
    const [{ state }, xml] = await Promise.all([ctx.client.getState(dom), ctx.client.getXml(dom)]);
    return addressesIn(ctx, dom, parseDomainXml(xml), state, opts);
  });
}

/** vmAddresses for a domain the caller has already looked up and read (resolveSshTarget): no second read. */
export async function addressesOf(
  ctx: VmContext,
  dom: Domain,
  parsed: ParsedDomain,
  opts: IpOptions = {},
): Promise<VmAddresses> {
  return addressesIn(ctx, dom, parsed, (await ctx.client.getState(dom)).state, opts);
}

async function addressesIn(
  ctx: VmContext,
  dom: Domain,
  parsed: ParsedDomain,
  state: number,
  opts: IpOptions,
): Promise<VmAddresses> {
  const name = dom.name;
  const running =
    state === DomainState.RUNNING || state === DomainState.BLOCKED || state === DomainState.PAUSED;
  const nics: NicAddresses[] = [];
  for (const n of parsed.nics) {
    const network = networkOf(n);
    const mac = n.mac === undefined ? null : normalizeMac(n.mac);
    if (n.type === 'user') {
      const endpoints = n.ports.map(fromPortForwardSpec).map(endpointText);
      nics.push({
        mac,
        network,
        addresses: [],
        endpoints,
        tried: [
          { source: 'agent', result: 'skipped', detail: 'user-mode NIC: no address reachable from the host' },
        ],
      });
      continue;
    }
    if (!running || mac === null) {
      nics.push({
        mac,
        network,
        addresses: [],
        tried: [],
      });
      continue;
    }
    const { addresses, tried } = await runChain(
      chainFor(ctx, dom, mac, parsed.guestAgent, opts),
      refusedAddress(opts),
    );
    nics.push({ mac, network, addresses, tried });
  }
  const first = nics.flatMap((n) => n.addresses)[0];
  return { name, state: stateName(state), ip: first?.ip ?? null, nics };
}

/** Like vmAddresses, but an error when no NIC has an address or endpoint — what `roost ip` exits 1 for. */
export async function requireAddresses(
  ctx: VmContext,
  name: string,
  opts: IpOptions = {},
): Promise<VmAddresses> {
  const r = await vmAddresses(ctx, name, opts);
  if (r.ip !== null || r.nics.some((n) => (n.endpoints?.length ?? 0) > 0)) return r;
  if (r.state !== 'running') {
    throw new RoostError('VM_NOT_RUNNING', `VM '${name}' is ${r.state}: it has no address`, {
      hint: `start it: roost start ${name}`,
    });
  }
  if (r.nics.length === 0) throw new RoostError('NO_NIC', `VM '${name}' has no network interface`);
  const tried = r.nics
    .flatMap((n) => n.tried)
    .map((t) => `${t.source}: ${t.result}${t.detail ? ` (${t.detail})` : ''}`)
    .join('; ');
  const passtOnly = r.nics.every((n) => n.endpoints !== undefined);
  throw new RoostError(
    'IP_NOT_FOUND',
    passtOnly
      ? `VM '${name}' uses user-mode networking and forwards no port: nothing on the host reaches it`
      : `no address found for VM '${name}' — ${tried}`,
    {
      hint: passtOnly
        ? `forward one: roost port add ${name} 2222:22`
        : "wait for the guest to get its DHCP lease, install qemu-guest-agent in it, or point at the DHCP server's lease file with --lease-file",
    },
  );
}
