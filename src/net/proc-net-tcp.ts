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

/**
 * What the guest sends is untrusted and bounded before it is read: a line longer than any real one is ignored
 * (an IPv6 line is about 150 characters), and at most this many lines of each file are looked at.
 */
export const MAX_LINE_LENGTH = 512;
export const MAX_LINES = 50_000;

/** Parses one /proc/net/tcp* file's text; malformed lines are skipped, never thrown on. */
export function parseProcNetTcp(text: string, family: 'tcp' | 'tcp6'): Listener[] {
  return parseBounded(text, family).listeners;
}

function parseBounded(text: string, family: 'tcp' | 'tcp6'): { listeners: Listener[]; complete: boolean } {
  const out: Listener[] = [];
  let start = 0;
  for (let n = 0; start < text.length; n++) {
    if (n === MAX_LINES) return { listeners: out, complete: false };
    const nl = text.indexOf('\n', start);
    const end = nl === -1 ? text.length : nl;
    // The header (`sl local_address …`) has no LISTEN state column, so it falls out like any other junk.
    if (end - start <= MAX_LINE_LENGTH) {
      const l = parseLine(text.slice(start, end), family);
      if (l !== undefined) out.push(l);
    }
    start = end + 1;
  }
  return { listeners: out, complete: true };
}

/** An address as /proc/net/{tcp,udp}{,6} write it (hex, 8 digits for IPv4, 32 for IPv6), in the usual notation. */
export function procNetAddress(hex: string): string {
  return hex.length === 8 ? ipv4(hex) : ipv6(hex);
}

function parseLine(line: string, family: 'tcp' | 'tcp6'): Listener | undefined {
  const cols = line.trim().split(/\s+/);
  if (cols.length < 4 || cols[3] !== LISTEN) return undefined;
  const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(cols[1] ?? '');
  if (!m) return undefined;
  const addrHex = m[1]!;
  if ((family === 'tcp' && addrHex.length !== 8) || (family === 'tcp6' && addrHex.length !== 32))
    return undefined;
  const port = Number.parseInt(m[2]!, 16);
  if (port === 0) return undefined; // nothing listens on port 0
  return { family, address: family === 'tcp' ? ipv4(addrHex) : ipv6(addrHex), port };
}

/** Distinct listening ports reachable from inside the guest (any address, loopback included), sorted. */
export function listeningPorts(listeners: Listener[]): number[] {
  return [...new Set(listeners.map((l) => l.port))].sort((a, b) => a - b);
}

/** Between the two files in LISTENERS_COMMAND's output. */
export const TCP6_MARKER = 'ROOST-TCP6';

/**
 * What the guest listens on, read through ssh: one fixed remote command, no user input in it. It goes to ssh as
 * ONE argument: ssh joins its arguments with spaces for the remote shell, so `sh -c SCRIPT` as three would lose
 * the quoting.
 */
export const LISTENERS_COMMAND = `cat /proc/net/tcp; echo ${TCP6_MARKER}; cat /proc/net/tcp6 2>/dev/null || true`;

/**
 * The listening ports in LISTENERS_COMMAND's output. `complete` is false when the output was cut (`truncated`:
 * the reader stopped at its size limit) or a file had more lines than are looked at: then a port missing from
 * `ports` may still be listened on, and the caller must not take its absence as the guest closing it.
 */
export function readListenersOutput(
  stdout: string,
  truncated: boolean,
): { ports: number[]; complete: boolean } {
  const at = stdout.indexOf(`${TCP6_MARKER}\n`);
  const v4 = parseBounded(at === -1 ? stdout : stdout.slice(0, at), 'tcp');
  const v6 = parseBounded(at === -1 ? '' : stdout.slice(at + TCP6_MARKER.length + 1), 'tcp6');
  return {
    ports: listeningPorts([...v4.listeners, ...v6.listeners]),
    complete: !truncated && at !== -1 && v4.complete && v6.complete,
  };
}
