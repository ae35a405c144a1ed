// Who may talk to `roost web`, decided per request before any route runs (DESIGN §8):
//
// - Host: a loopback name or IP literal with our port, else 421. A page on evil.example that rebinds its DNS
//   name to 127.0.0.1 still sends `Host: evil.example`, so DNS rebinding gets nothing.
// - Origin: on every state-changing request and every WebSocket upgrade, absent (not a browser) or ours, else
//   403. The cookie is SameSite=Strict too, so a cross-site page cannot ride on it twice over.
// - Token: a random 32-byte secret per start. Scripts send `Authorization: Bearer TOKEN`; a browser opens the
//   printed URL once, `?token=` is traded for an HttpOnly SameSite=Strict session cookie and a redirect to the
//   same path without it (it never reaches a Referer or the history again). After that trade the query
//   token is refused: a leaked URL is worth nothing. No token, wrong token → 401, on every route and upgrade.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ipVersion } from '../net/ip-literal.js';

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

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export type AuthDecision =
  | { ok: true; via: 'bearer' | 'cookie' }
  /** The query token was good and not yet traded: set this cookie and redirect to the clean URL. */
  | { ok: false; exchange: { cookie: string; location: string } }
  | { ok: false; reason: string };

/** The per-start token and the browser sessions it was traded for. */
export class TokenAuth {
  readonly token: string;
  private session: string | null = null;
  private traded = false;

  constructor(
    /** The cookie's name; give it the port (once known): cookies are per host, not per port. */
    public cookieName: string,
    token = newSecret(),
  ) {
    this.token = token;
  }

  decide(req: {
    method: string;
    url: string;
    headers: Record<string, string | string[] | undefined>;
  }): AuthDecision {
    const auth = header(req.headers.authorization);
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      return m && sameSecret(m[1]!, this.token)
        ? { ok: true, via: 'bearer' }
        : { ok: false, reason: 'wrong token in the Authorization header' };
    }
    const url = new URL(req.url, 'http://x');
    const queryToken = url.searchParams.get('token');
    const cookie = parseCookies(header(req.headers.cookie)).get(this.cookieName);
    const hasSession = cookie !== undefined && this.session !== null && sameSecret(cookie, this.session);
    if (queryToken !== null) {
      url.searchParams.delete('token');
      const location = url.pathname + (url.search === '?' ? '' : url.search);
      // Already logged in: just drop the token from the address bar.
      if (hasSession && req.method === 'GET') return { ok: false, exchange: { cookie: '', location } };
      if (this.traded) return { ok: false, reason: 'this link was used already: the token works once' };
      if (req.method !== 'GET' || !sameSecret(queryToken, this.token))
        return { ok: false, reason: 'wrong token' };
      this.traded = true;
      this.session = newSecret();
      return { ok: false, exchange: { cookie: this.setCookie(this.session), location } };
    }
    if (hasSession) return { ok: true, via: 'cookie' };
    return {
      ok: false,
      reason: cookie === undefined ? 'no token' : 'unknown session (roost web restarted?)',
    };
  }

  private setCookie(value: string): string {
    return `${this.cookieName}=${value}; HttpOnly; SameSite=Strict; Path=/`;
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
