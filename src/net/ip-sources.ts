// Where a session VM's IP address can be learnt without root, and the parsers for each (DESIGN §1: `virsh
// domifaddr --source lease` and `net-dhcp-leases` need the system connection). All pure: the caller reads the
// files and asks the agent; these turn the text into addresses matched by the NIC's MAC address.
import { ipVersion } from './ip-literal.js';

export type IpSource =
  /** guest-network-get-interfaces, sent to the QEMU guest agent through libvirt. */
  | 'agent'
  /** virDomainInterfaceAddresses with source AGENT (libvirt asks the same agent, parsed by libvirt). */
  | 'libvirt-agent'
  /** virDomainInterfaceAddresses with source ARP (the daemon reads its own neighbour table). */
  | 'libvirt-arp'
  /** A dnsmasq lease file or a libvirt network's .status file that this user can read. */
  | 'lease-file'
  /** /proc/net/arp of the namespace roost runs in. */
  | 'arp-table';

export interface FoundAddress {
  ip: string;
  family: 'ipv4' | 'ipv6';
  prefix?: number;
  /** Lower-case MAC address of the NIC the address belongs to. */
  mac: string;
  source: IpSource;
  /** Guest interface name (agent) or host device / file the entry came from. */
  where?: string;
}

export function normalizeMac(mac: string): string {
  return mac.trim().toLowerCase();
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function family(ip: string): 'ipv4' | 'ipv6' | undefined {
  const v = ipVersion(ip);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** Link-local and loopback addresses are no use to reach a guest from the host. */
export function isUsableAddress(ip: string): boolean {
  if (family(ip) === 'ipv4') return !ip.startsWith('127.') && !ip.startsWith('169.254.');
  const v6 = ip.toLowerCase();
  return v6 !== '::1' && !v6.startsWith('fe80:');
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
      addresses.push({ ip, family: fam, ...(typeof prefix === 'number' ? { prefix } : {}) });
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
          prefix: a.prefix,
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
export interface Attempt {
  source: IpSource;
  /** 'found', 'none' (asked, nothing for this MAC), 'skipped' (not applicable) or 'error'. */
  result: 'found' | 'none' | 'skipped' | 'error';
  detail?: string;
}

export interface ChainStep {
  source: IpSource;
  /** Returns the addresses found for the MAC, or a string saying why the step does not apply. */
  run(): Promise<FoundAddress[] | string>;
}

/** Tries each step in order and stops at the first that finds a usable address. */
export async function runChain(
  steps: readonly ChainStep[],
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
    const usable = sortAddresses(r.filter((a) => isUsableAddress(a.ip)));
    if (usable.length) {
      tried.push({ source: step.source, result: 'found' });
      return { addresses: usable, tried };
    }
    tried.push({ source: step.source, result: 'none' });
  }
  return { addresses: [], tried };
}
