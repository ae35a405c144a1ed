// Listening TCP sockets from Linux's /proc/net/tcp and /proc/net/tcp6, as a guest reports them: the input of
// automatic port forwarding. Each line is `sl local_address rem_address st …`, addresses as hex
// `ADDR:PORT` (IPv4 little-endian 32-bit, IPv6 four little-endian 32-bit words), state 0A = LISTEN.

export interface Listener {
  /** 'tcp' or 'tcp6' (which file it came from). */
  family: 'tcp' | 'tcp6';
  address: string;
  port: number;
}

const LISTEN = '0A';

function ipv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

function ipv6(hex: string): string {
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    // Each 32-bit word is stored in host (little-endian) order: reverse its bytes.
    const bytes = word.match(/../g)!.reverse().join('');
    groups.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  const full = groups.map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':');
  return full === '0:0:0:0:0:0:0:0' ? '::' : full === '0:0:0:0:0:0:0:1' ? '::1' : full;
}

/** Parses one /proc/net/tcp* file's text; malformed lines are skipped, never thrown on. */
export function parseProcNetTcp(text: string, family: 'tcp' | 'tcp6'): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || cols[3] !== LISTEN) continue;
    const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(cols[1] ?? '');
    if (!m) continue;
    const addrHex = m[1]!;
    if ((family === 'tcp' && addrHex.length !== 8) || (family === 'tcp6' && addrHex.length !== 32)) continue;
    out.push({
      family,
      address: family === 'tcp' ? ipv4(addrHex) : ipv6(addrHex),
      port: Number.parseInt(m[2]!, 16),
    });
  }
  return out;
}

/** Distinct listening ports reachable from inside the guest (any address, loopback included), sorted. */
export function listeningPorts(listeners: Listener[]): number[] {
  return [...new Set(listeners.map((l) => l.port))].sort((a, b) => a - b);
}
