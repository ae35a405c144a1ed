// Where a session VM's IP address can be learnt without root, and the parsers for each (docs/architecture.md,
// host facts: `virsh domifaddr --source lease` and `net-dhcp-leases` need the system connection). All pure: the
// caller reads the files and asks the agent; these turn the text into addresses matched by the NIC's MAC address.
import { ipVersion } from '../ip-literal.js';
import type { Attempt, FoundAddress } from '../shared/ports.js';
import type { AddressSource as IpSource } from '../shared/vms.js';

// The shapes `roost ip --json` prints (src/shared/ports.ts): one definition for the parsers and the wire.
export type { Attempt, FoundAddress } from '../shared/ports.js';
export type { AddressSource as IpSource } from '../shared/vms.js';

export function normalizeMac(mac: string): string {
  return mac.trim().toLowerCase();
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function family(ip: string): 'ipv4' | 'ipv6' | undefined {
  const v = ipVersion(ip);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** The four bytes of a dotted-decimal IPv4 address (already checked by ipVersion). */
function ipv4Bytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** The sixteen bytes of an IPv6 address without a zone (already checked by ipVersion). */
function ipv6Bytes(ip: string): number[] {
  const words = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [Number.parseInt(g, 16)];
      const [a, b, c, d] = ipv4Bytes(g);
      return [(a! << 8) | b!, (c! << 8) | d!];
    });
  };
  const [head = '', tail] = ip.split('::');
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

function ipv4Problem([a, b]: number[]): string | undefined {
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local';
  if (a! >= 224 && a! <= 239) return 'multicast';
  if (a! >= 240) return 'reserved or broadcast';
  return undefined;
}

function ipv6Problem(ip: string): string | undefined {
  if (ip.includes('%')) return 'scoped (link-local)';
  const b = ipv6Bytes(ip);
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms reach
  // the IPv4 address inside them: the IPv4 rules apply to it.
  const mapped = zeros(0, 10) && b[10] === 0xff && b[11] === 0xff;
  const translated = zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12);
  const nat64 = b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12);
  if (mapped || translated || nat64) {
    const inner = ipv4Problem(b.slice(12));
    return inner === undefined ? undefined : `${inner} (IPv4 inside IPv6)`;
  }
  if (zeros(0, 15) && b[15] === 0) return 'unspecified';
  if (zeros(0, 15) && b[15] === 1) return 'loopback';
  if (zeros(0, 12)) return 'IPv4-compatible (deprecated)';
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
  return undefined;
}

/**
 * Why an address a guest (agent, DHCP, neighbour table) reports is no way to reach it from the host, or
 * undefined when it is one. The answer comes from the guest, so it is checked: an unspecified, loopback or
 * IPv4-mapped loopback address would send `roost ssh` to the host itself; multicast, broadcast and reserved
 * ones reach no single guest. Link-local addresses (169.254/16, fe80::/10) are refused too: an fe80:: address
 * only means something with the host-side interface it is on (fe80::1%virbr0), which the guest cannot tell us.
 * The documentation ranges (192.0.2.0/24, 2001:db8::/32…) are allowed: test networks and passt use them.
 */
export function addressProblem(ip: string): string | undefined {
  const v = family(ip);
  if (v === undefined) return 'not an IP address';
  return v === 'ipv4' ? ipv4Problem(ipv4Bytes(ip)) : ipv6Problem(ip);
}

/** An address that can reach a guest from the host (addressProblem has nothing against it). */
export function isUsableAddress(ip: string): boolean {
  return addressProblem(ip) === undefined;
}

/** One spelling per address (IPv4-mapped IPv6 as its IPv4), to compare a guest's answer with the host's own. */
export function addressKey(ip: string): string | undefined {
  const v = family(ip);
  if (v === 'ipv4') return ip;
  if (v === undefined || ip.includes('%')) return undefined;
  const b = ipv6Bytes(ip);
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.slice(12).join('.');
  return b.map((x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * /proc/net/arp: a header line, then `IP HWtype Flags HWaddress Mask Device`. Flags 0x0 is an incomplete
 * entry (no answer yet); 0x2 (ATF_COM) a complete one. Incomplete and all-zero entries are skipped.
 */
export function parseProcNetArp(text: string): { ip: string; mac: string; device: string }[] {
  const out: { ip: string; mac: string; device: string }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [ip, , flags, mac, , device] = line.trim().split(/\s+/);
    if (ip === undefined || mac === undefined || flags === undefined || device === undefined) continue;
    const m = normalizeMac(mac);
    if (!MAC_RE.test(m) || m === '00:00:00:00:00:00' || (Number(flags) & 0x2) === 0) continue;
    if (family(ip) !== 'ipv4') continue;
    out.push({ ip, mac: m, device });
  }
  return out;
}

export interface Lease {
  ip: string;
  mac: string;
  hostname?: string;
  /** Unix seconds; 0 for a lease that never expires. */
  expiry: number;
}

/**
 * dnsmasq's lease file: `EXPIRY MAC IP HOSTNAME CLIENTID` per IPv4 lease (`*` for an unknown hostname);
 * DHCPv6 leases follow a `duid …` line and carry an IAID instead of a MAC, so they cannot be matched and are skipped.
 */
export function parseDnsmasqLeases(text: string): Lease[] {
  const out: Lease[] = [];
  for (const line of text.split('\n')) {
    const [expiry, mac, ip, hostname] = line.trim().split(/\s+/);
    if (expiry === undefined || mac === undefined || ip === undefined || !/^\d+$/.test(expiry)) continue;
    const m = normalizeMac(mac);
    if (!MAC_RE.test(m) || family(ip) === undefined) continue;
    out.push({ ip, mac: m, expiry: Number(expiry), ...(hostname && hostname !== '*' ? { hostname } : {}) });
  }
  return out;
}

/** libvirt's `/var/lib/libvirt/dnsmasq/NETWORK.status`: a JSON array written by its leaseshelper. */
export function parseLibvirtStatus(text: string): Lease[] {
  let data: unknown;
  try {
    data = JSON.parse(text.trim() || '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  const out: Lease[] = [];
  for (const e of data as Record<string, unknown>[]) {
    const ip = e?.['ip-address'];
    const mac = e?.['mac-address'];
    if (typeof ip !== 'string' || typeof mac !== 'string' || family(ip) === undefined) continue;
    const m = normalizeMac(mac);
    if (!MAC_RE.test(m)) continue;
    const hostname = e['hostname'];
    const expiry = Number(e['expiry-time'] ?? 0);
    out.push({
      ip,
      mac: m,
      expiry: Number.isFinite(expiry) ? expiry : 0,
      ...(typeof hostname === 'string' && hostname ? { hostname } : {}),
    });
  }
  return out;
}

/** A lease file by its content: libvirt's JSON status, or dnsmasq's text format. */
export function parseLeaseFile(text: string): Lease[] {
  return text.trimStart().startsWith('[') ? parseLibvirtStatus(text) : parseDnsmasqLeases(text);
}

/** Leases for `mac` that have not expired at `nowS`, newest expiry first (a re-leased address wins). */
export function leasesFor(leases: readonly Lease[], mac: string, nowS: number): Lease[] {
  const m = normalizeMac(mac);
  return leases
    .filter((l) => l.mac === m && (l.expiry === 0 || l.expiry > nowS))
    .sort((a, b) => (b.expiry || Infinity) - (a.expiry || Infinity));
}

export interface AgentInterface {
  name: string;
  mac: string | undefined;
  addresses: { ip: string; family: 'ipv4' | 'ipv6'; prefix?: number }[];
}

/**
 * The agent's answer to `{"execute":"guest-network-get-interfaces"}`:
 * `{"return":[{"name":"eth0","hardware-address":"52:54:…","ip-addresses":[{"ip-address-type":"ipv4",
 * "ip-address":"10.0.0.5","prefix":24}]}]}`. Malformed parts are skipped; a reply that is not JSON gives [].
 */
export function parseAgentInterfaces(json: string): AgentInterface[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return [];
  }
  const list = (data as { return?: unknown })?.return;
  if (!Array.isArray(list)) return [];
  const out: AgentInterface[] = [];
  for (const raw of list as Record<string, unknown>[]) {
    if (typeof raw?.name !== 'string') continue;
    const hw = raw['hardware-address'];
    const addrs = Array.isArray(raw['ip-addresses'])
      ? (raw['ip-addresses'] as Record<string, unknown>[])
      : [];
    const addresses: AgentInterface['addresses'] = [];
    for (const a of addrs) {
      const ip = a?.['ip-address'];
      if (typeof ip !== 'string') continue;
      const fam = family(ip);
      if (fam === undefined) continue;
      const prefix = a['prefix'];
      const sane = Number.isInteger(prefix) && (prefix as number) >= 0 && (prefix as number) <= 128;
      addresses.push({ ip, family: fam, ...(sane ? { prefix: prefix as number } : {}) });
    }
    out.push({ name: raw.name, mac: typeof hw === 'string' ? normalizeMac(hw) : undefined, addresses });
  }
  return out;
}

/** libvirt's virDomainInterfaceAddresses entries (type 0 = IPv4, 1 = IPv6) → addresses of one MAC. */
export function fromLibvirtInterfaces(
  ifaces: readonly {
    name: string;
    hwaddr: string | null;
    addrs: { type: number; addr: string; prefix: number }[];
  }[],
  mac: string,
  source: IpSource,
): FoundAddress[] {
  const m = normalizeMac(mac);
  return ifaces
    .filter((i) => i.hwaddr !== null && normalizeMac(i.hwaddr) === m)
    .flatMap((i) =>
      i.addrs
        .filter((a) => isUsableAddress(a.addr))
        .map((a): FoundAddress => ({
          ip: a.addr,
          family: a.type === 1 ? 'ipv6' : 'ipv4',
          // The ARP source knows no prefix and says 0: no address of a guest has a /0 network.
          ...(a.prefix > 0 ? { prefix: a.prefix } : {}),
          mac: m,
          source,
          where: i.name,
        })),
    );
}

/** IPv4 before IPv6 (what a user means by "the VM's IP"), otherwise in the order found. */
export function sortAddresses(list: FoundAddress[]): FoundAddress[] {
  return [...list].sort((a, b) => (a.family === b.family ? 0 : a.family === 'ipv4' ? -1 : 1));
}

/** One step of the discovery chain, as `roost ip --json` reports it. */
export interface ChainStep {
  source: IpSource;
  /** Returns the addresses found for the MAC, or a string saying why the step does not apply. */
  run(): Promise<FoundAddress[] | string>;
}

/**
 * Tries each step in order and stops at the first that finds a usable address. `problem` says why an address
 * is refused (by default addressProblem; ip.ts adds "the host's own"); refused ones are named in the attempt.
 */
export async function runChain(
  steps: readonly ChainStep[],
  problem: (ip: string) => string | undefined = addressProblem,
): Promise<{ addresses: FoundAddress[]; tried: Attempt[] }> {
  const tried: Attempt[] = [];
  for (const step of steps) {
    let r: FoundAddress[] | string;
    try {
      r = await step.run();
    } catch (e) {
      tried.push({ source: step.source, result: 'error', detail: (e as Error).message });
      continue;
    }
    if (typeof r === 'string') {
      tried.push({ source: step.source, result: 'skipped', detail: r });
      continue;
    }
    const refused = r.flatMap((a) => {
      const why = problem(a.ip);
      return why === undefined ? [] : [`${a.ip} (${why})`];
    });
    const usable = sortAddresses(r.filter((a) => problem(a.ip) === undefined));
    const detail = refused.length ? { detail: `ignored ${[...new Set(refused)].join(', ')}` } : {};
    if (usable.length) {
      tried.push({ source: step.source, result: 'found', ...detail });
      return { addresses: usable, tried };
    }
    tried.push({ source: step.source, result: 'none', ...detail });
  }
  return { addresses: [], tried };
}
