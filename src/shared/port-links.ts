// Forwarded ports as links in the web console (docs/web.md, Ports): a TCP forward to a guest port that web
// servers use opens the guest's app in a new tab, at the host address the forward listens on. No imports: the
// browser uses it too.

/** Guest ports taken to serve HTTP (https for 443 and 8443). ssh (22) and the rest are not links. */
const HTTP_PORTS = new Set([80, 443, 3000, 4000, 5000, 5173, 8000, 8008, 8080, 8081, 8443, 8888, 9000]);
const HTTPS_PORTS = new Set([443, 8443]);

/**
 * The URL that opens the guest's app behind a forward spec as roost writes it (`[ADDR:]HOST:GUEST[/PROTO]`,
 * `[::1]:8080:80/tcp`), or null when it is not an HTTP forward: UDP, a port range, or a guest port not in the
 * list. A wildcard address (0.0.0.0, ::) is reached on this machine's loopback.
 */
export function portLink(spec: string): string | null {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(spec);
  if (!m) return null;
  const [, addr, host, guest, proto] = m;
  if (proto === 'udp') return null;
  const guestPort = Number(guest);
  if (!HTTP_PORTS.has(guestPort)) return null;
  const scheme = HTTPS_PORTS.has(guestPort) ? 'https' : 'http';
  return `${scheme}://${linkHost(addr)}:${Number(host)}/`;
}

function linkHost(addr: string | undefined): string {
  if (addr === undefined || addr === '0.0.0.0' || addr === '') return '127.0.0.1';
  if (addr === '[::]') return '[::1]';
  return addr;
}
