// Who may talk to `roost web`, decided per request before any route runs (docs/security.md, docs/web.md):
//
// - Host: a loopback name or IP literal with our port, else 421. A page on evil.example that rebinds its DNS
//   name to 127.0.0.1 still sends `Host: evil.example`, so DNS rebinding gets nothing.
// - Origin: on every state-changing request, every WebSocket upgrade and every ticket, absent (not a browser) or
//   ours, else 403.
// - Credentials (WebAuth below): nothing a browser attaches by itself — no cookie, ever. Browsers scope cookies
//   by host, not port, so a cookie of 127.0.0.1:PORT would reach every local server the user visits, a guest's
//   web app behind a port forward included. Instead:
//   * the API token (scripts): `Authorization: Bearer TOKEN`, handed over in a 0600 file, never printed;
//   * a one-time login link `http://127.0.0.1:PORT/#login=SECRET`: the fragment never reaches a request line,
//     a Referer or a log; the page POSTs it to /api/session once, within minutes, and gets a page session
//     secret that it keeps in sessionStorage and sends as `Authorization: Bearer SESSION`;
//   * tickets for EventSource and WebSocket (which cannot send headers): got by an authenticated POST, in the
//     URL as `?ticket=`, good once, for one path, for seconds.
//   No token, wrong token → 401, on every API route and upgrade. The page itself (HTML, JS, CSS) holds no
//   secret and is served to anyone who passes the Host check.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ipVersion } from '../ip-literal.js';

export const TOKEN_BYTES = 32;

/** Headers on every answer: nothing is cached, framed, sniffed or referred. */
export const SECURITY_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; " +
    "frame-ancestors 'none'",
};

export function newSecret(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Compares secrets in constant time (for equal lengths; a length mismatch is no secret). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function isLoopbackAddress(addr: string): boolean {
  const a = addr.replace(/^\[|\]$/g, '').toLowerCase();
  if (ipVersion(a) === 4) return a.startsWith('127.');
  if (ipVersion(a) === 6) return a === '::1' || /^::ffff:127\./.test(a);
  return false;
}

/** Splits a Host header into name and port; null when it is malformed. */
export function parseHost(host: string): { name: string; port: number | null } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!m) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { name: m[1]!.toLowerCase().replace(/\.$/, ''), port };
}

export interface HostPolicy {
  /** The TCP port we listen on; null for the UNIX socket (no port in its Host headers). */
  port: number | null;
  /** The address we listen on: a non-loopback one (--listen) also allows IP-literal Host headers. */
  listen: string;
}

/** True when `host` names us: localhost or a loopback IP (any IP literal when listening beyond loopback). */
export function hostAllowed(host: string | undefined, policy: HostPolicy): boolean {
  if (!host) return false;
  const h = parseHost(host);
  if (!h) return false;
  if (policy.port === null) {
    if (h.port !== null && h.port !== 80) return false;
  } else if (h.port !== policy.port) return false;
  if (h.name === 'localhost' || isLoopbackAddress(h.name)) return true;
  // A name other than localhost could be rebound to us; an IP literal cannot. Only when we listen beyond
  // loopback can a browser reach us through one.
  return !isLoopbackAddress(policy.listen) && ipVersion(h.name.replace(/^\[|\]$/g, '')) !== 0;
}

/** True when an Origin header is absent (not a browser) or the same origin as the Host the request named. */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!host) return false;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false; // including "null"
  }
  return u.protocol === 'http:' && u.host === new URL(`http://${host}`).host && u.pathname === '/';
}

export function isStateChanging(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

/** What a ticket opens: the event stream, the All hosts view's, or one VM's serial or graphical console. */
export type TicketKind = 'events' | 'hosts' | 'console' | 'vnc';

/** The kind of stream at `pathname`, or null when no ticket may open it. */
export function ticketKind(pathname: string): TicketKind | null {
  if (pathname === '/api/events') return 'events';
  if (pathname === '/api/hosts/events') return 'hosts';
  const m = /^\/api\/vms\/[^/]+\/(console|vnc)$/.exec(pathname);
  return m ? (m[1] as TicketKind) : null;
}

export const LINK_TTL_MS = 5 * 60_000;
export const TICKET_TTL_MS = 30_000;
/** Page sessions kept at most (each login link makes one); the oldest goes first. */
export const MAX_SESSIONS = 64;
/** Tickets outstanding at most; a page takes one per stream it opens, so this is never reached by a person. */
export const MAX_TICKETS = 256;

export interface LoginLink {
  /** The secret that goes after `#login=`. */
  secret: string;
  expiresAt: number;
  /** Settles when the link is used or has expired (or the server stops): then an opener file can go. */
  settled: Promise<'used' | 'expired'>;
}

export type AuthResult =
  { ok: true; via: 'token' | 'session' | 'ticket' } | { ok: false; code: string; reason: string };

interface PendingLink {
  expiresAt: number;
  settle: (how: 'used' | 'expired') => void;
}

/**
 * The server's credentials: one API token for its life, one-time login links, the page sessions they were
 * traded for, and single-use tickets. Secrets are looked up by their SHA-256, so a lookup's timing says nothing
 * about the secret; the API token is compared in constant time.
 */
export class WebAuth {
  readonly apiToken: string;
  private readonly links = new Map<string, PendingLink>();
  private readonly sessions = new Set<string>();
  private readonly tickets = new Map<string, { path: string; expiresAt: number }>();

  private readonly linkTtlMs: number;
  private readonly ticketTtlMs: number;

  constructor(opts: { apiToken?: string; linkTtlMs?: number; ticketTtlMs?: number } = {}) {
    this.apiToken = opts.apiToken ?? newSecret();
    this.linkTtlMs = opts.linkTtlMs ?? LINK_TTL_MS;
    this.ticketTtlMs = opts.ticketTtlMs ?? TICKET_TTL_MS;
  }

  /** A new one-time login link; it works once, until it expires. */
  newLink(): LoginLink {
    const secret = newSecret();
    const expiresAt = Date.now() + this.linkTtlMs;
    const id = digest(secret);
    let settle!: (how: 'used' | 'expired') => void;
    const settled = new Promise<'used' | 'expired'>((resolve) => {
      const timer = setTimeout(() => settle('expired'), this.linkTtlMs);
      timer.unref();
      settle = (how) => {
        clearTimeout(timer);
        this.links.delete(id);
        resolve(how);
      };
    });
    this.links.set(id, { expiresAt, settle });
    return { secret, expiresAt, settled };
  }

  /** Trades a login link's secret for a new page session secret; null when the link is unknown, used or old. */
  redeemLink(secret: string): string | null {
    const link = this.links.get(digest(secret));
    if (!link) return null;
    if (Date.now() >= link.expiresAt) {
      link.settle('expired');
      return null;
    }
    link.settle('used');
    const session = newSecret();
    this.sessions.add(digest(session));
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.values().next().value!);
    return session;
  }

  /** Checks an Authorization header: the API token or a page session, as `Bearer SECRET`. */
  bearer(header: string | undefined): AuthResult {
    if (header === undefined) {
      return { ok: false, code: 'UNAUTHORIZED', reason: 'no credentials' };
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m)
      return { ok: false, code: 'UNAUTHORIZED', reason: 'the Authorization header is not "Bearer SECRET"' };
    if (sameSecret(m[1]!, this.apiToken)) return { ok: true, via: 'token' };
    if (this.sessions.has(digest(m[1]!))) return { ok: true, via: 'session' };
    return {
      ok: false,
      code: 'UNAUTHORIZED',
      reason: 'unknown token or session (roost web restarted?)',
    };
  }

  /** A ticket that opens the stream at `path` once, within seconds; null when no ticket may open that path. */
  newTicket(path: string): { ticket: string; expiresAt: number } | null {
    path = plainPath(path) ?? '';
    if (ticketKind(path) === null) return null;
    const now = Date.now();
    for (const [id, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(id);
    if (this.tickets.size >= MAX_TICKETS) this.tickets.delete(this.tickets.keys().next().value!);
    const ticket = newSecret();
    const expiresAt = now + this.ticketTtlMs;
    this.tickets.set(digest(ticket), { path, expiresAt });
    return { ticket, expiresAt };
  }

  /** Spends a ticket on the stream at `path`: good once, for the path it was made for, before it expires. */
  redeemTicket(ticket: string, path: string): AuthResult {
    const id = digest(ticket);
    const t = this.tickets.get(id);
    if (!t) return { ok: false, code: 'UNAUTHORIZED', reason: 'unknown or used ticket' };
    this.tickets.delete(id);
    if (Date.now() >= t.expiresAt)
      return { ok: false, code: 'UNAUTHORIZED', reason: 'the ticket has expired' };
    if (t.path !== path) {
      return { ok: false, code: 'UNAUTHORIZED', reason: 'the ticket was made for another stream' };
    }
    return { ok: true, via: 'ticket' };
  }

  /** Ends every pending link (their opener files can go) and forgets all sessions and tickets. */
  close(): void {
    for (const link of [...this.links.values()]) link.settle('expired');
    this.sessions.clear();
    this.tickets.clear();
  }
}

/** The path as a request line would carry it, or null when it is more than a path (origin, query, fragment). */
function plainPath(path: string): string | null {
  try {
    const u = new URL(path, 'http://x');
    return u.origin === 'http://x' && !u.search && !u.hash && path.startsWith('/') ? u.pathname : null;
  } catch {
    return null;
  }
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
