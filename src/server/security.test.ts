import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  hostAllowed,
  isLoopbackAddress,
  LINK_TTL_MS,
  originAllowed,
  parseHost,
  TICKET_TTL_MS,
  ticketKind,
  WebAuth,
} from './security.js';

describe('hostAllowed (DNS rebinding)', () => {
  const local = { port: 8123, listen: '127.0.0.1' };
  it.each([
    '127.0.0.1:8123',
    'localhost:8123',
    'LOCALHOST:8123',
    '[::1]:8123',
    '127.1.2.3:8123',
    'localhost.:8123',
  ])('accepts %s', (h) => expect(hostAllowed(h, local)).toBe(true));
  it.each([
    undefined,
    '',
    'evil.example:8123',
    'localhost.evil.example:8123',
    '127.0.0.1.nip.io:8123',
    '127.0.0.1:8124',
    '127.0.0.1',
    '192.168.1.5:8123',
    '127.0.0.1:8123:1',
    'a b:8123',
  ])('refuses %s', (h) => expect(hostAllowed(h, local)).toBe(false));

  it('allows IP literals, never names, when listening beyond loopback', () => {
    const wide = { port: 8123, listen: '0.0.0.0' };
    expect(hostAllowed('192.168.1.5:8123', wide)).toBe(true);
    expect(hostAllowed('myhost.lan:8123', wide)).toBe(false);
  });

  it('takes a port-less Host on the UNIX socket', () => {
    const unix = { port: null, listen: '127.0.0.1' };
    expect(hostAllowed('localhost', unix)).toBe(true);
    expect(hostAllowed('evil.example', unix)).toBe(false);
  });
});

describe('parseHost / isLoopbackAddress', () => {
  it('splits names, IPv6 literals and ports', () => {
    expect(parseHost('[::1]:80')).toEqual({ name: '[::1]', port: 80 });
    expect(parseHost('x:99999')).toBeNull();
    expect(isLoopbackAddress('[::1]')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
    expect(isLoopbackAddress('localhost')).toBe(false); // a name, not an address
  });
});

describe('originAllowed (CSRF)', () => {
  it('allows no Origin (not a browser) and our own', () => {
    expect(originAllowed(undefined, '127.0.0.1:8123')).toBe(true);
    expect(originAllowed('http://127.0.0.1:8123', '127.0.0.1:8123')).toBe(true);
  });
  it.each([
    'http://evil.example',
    'http://127.0.0.1:8124',
    'https://127.0.0.1:8123',
    'null',
    'http://localhost:8123',
  ])('refuses %s for Host 127.0.0.1:8123', (o) => expect(originAllowed(o, '127.0.0.1:8123')).toBe(false));
});

describe('WebAuth', () => {
  const SECRET = /^[A-Za-z0-9_-]{43}$/;
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('makes a 32-byte base64url API token, different each start, good as Bearer only', () => {
    const a = new WebAuth();
    expect(a.apiToken).toMatch(SECRET);
    expect(new WebAuth().apiToken).not.toBe(a.apiToken);
    expect(a.bearer(`Bearer ${a.apiToken}`)).toEqual({ ok: true, via: 'token' });
    expect(a.bearer(`bearer  ${a.apiToken}`)).toEqual({ ok: true, via: 'token' });
    expect(a.bearer(`Bearer ${a.apiToken}x`).ok).toBe(false);
    expect(a.bearer(a.apiToken).ok).toBe(false);
    expect(a.bearer(undefined)).toMatchObject({ ok: false, reason: 'no credentials' });
  });

  it('trades a login link once for a page session, which then works as Bearer', () => {
    const auth = new WebAuth();
    const link = auth.newLink();
    expect(link.secret).toMatch(SECRET);
    expect(link.secret).not.toBe(auth.apiToken);
    const session = auth.redeemLink(link.secret);
    expect(session).toMatch(SECRET);
    expect(session).not.toBe(link.secret);
    expect(auth.bearer(`Bearer ${session}`)).toEqual({ ok: true, via: 'session' });
    // Used: refused the second time.
    expect(auth.redeemLink(link.secret)).toBeNull();
  });

  it('never takes a link secret as a Bearer token, before or after its use', () => {
    const auth = new WebAuth();
    const link = auth.newLink();
    expect(auth.bearer(`Bearer ${link.secret}`).ok).toBe(false);
    auth.redeemLink(link.secret);
    expect(auth.bearer(`Bearer ${link.secret}`).ok).toBe(false);
  });

  it('refuses a link after it expired, and settles it so its opener page can go', async () => {
    const auth = new WebAuth();
    const link = auth.newLink();
    const other = auth.newLink();
    expect(link.expiresAt).toBe(Date.now() + LINK_TTL_MS);
    vi.advanceTimersByTime(LINK_TTL_MS);
    await expect(link.settled).resolves.toBe('expired');
    expect(auth.redeemLink(link.secret)).toBeNull();
    expect(auth.redeemLink(other.secret)).toBeNull();
  });

  it('settles a used link as used; links are independent', async () => {
    const auth = new WebAuth();
    const a = auth.newLink();
    const b = auth.newLink();
    expect(auth.redeemLink(a.secret)).not.toBeNull();
    await expect(a.settled).resolves.toBe('used');
    expect(auth.redeemLink(b.secret)).not.toBeNull();
    expect(auth.redeemLink('x'.repeat(43))).toBeNull();
  });

  it('gives tickets only for the event stream and console paths', () => {
    expect(ticketKind('/api/events')).toBe('events');
    expect(ticketKind('/api/hosts/events')).toBe('hosts');
    expect(ticketKind('/api/hosts')).toBeNull();
    expect(ticketKind('/api/hosts/events/x')).toBeNull();
    expect(ticketKind('/api/vms/web%201/console')).toBe('console');
    expect(ticketKind('/api/vms/a/vnc')).toBe('vnc');
    expect(ticketKind('/api/vms')).toBeNull();
    expect(ticketKind('/api/vms/a/start')).toBeNull();
    expect(ticketKind('/api/vms/a/b/console')).toBeNull();
    const auth = new WebAuth();
    expect(auth.newTicket('/api/vms')).toBeNull();
    expect(auth.newTicket('/api/events?x=1')).toBeNull();
    expect(auth.newTicket('http://evil.example/api/events')).toBeNull();
    expect(auth.newTicket('/api/events')).not.toBeNull();
  });

  it('a ticket works once, for its own path only', () => {
    const auth = new WebAuth();
    const t = auth.newTicket('/api/vms/a/console')!;
    expect(t.ticket).toMatch(SECRET);
    expect(auth.redeemTicket(t.ticket, '/api/vms/a/console')).toEqual({ ok: true, via: 'ticket' });
    expect(auth.redeemTicket(t.ticket, '/api/vms/a/console').ok).toBe(false);

    const u = auth.newTicket('/api/vms/a/console')!;
    expect(auth.redeemTicket(u.ticket, '/api/vms/a/vnc')).toMatchObject({
      ok: false,
      reason: /another stream/,
    });
    // A try on the wrong path spends it too: it cannot be retried elsewhere.
    expect(auth.redeemTicket(u.ticket, '/api/vms/a/console').ok).toBe(false);
    const v = auth.newTicket('/api/events')!;
    expect(auth.redeemTicket(v.ticket, '/api/vms/b/console').ok).toBe(false);
    // The event stream's ticket does not open the All hosts view's stream (which dials other hosts), nor back.
    const w = auth.newTicket('/api/events')!;
    expect(auth.redeemTicket(w.ticket, '/api/hosts/events').ok).toBe(false);
    const x = auth.newTicket('/api/hosts/events')!;
    expect(auth.redeemTicket(x.ticket, '/api/events').ok).toBe(false);
  });

  it('a ticket expires in seconds, and is never a Bearer token', () => {
    const auth = new WebAuth();
    const t = auth.newTicket('/api/events')!;
    expect(auth.bearer(`Bearer ${t.ticket}`).ok).toBe(false);
    vi.advanceTimersByTime(TICKET_TTL_MS);
    expect(auth.redeemTicket(t.ticket, '/api/events')).toMatchObject({ ok: false, reason: /expired/ });
  });

  it('forgets sessions and ends pending links on close', async () => {
    const auth = new WebAuth();
    const session = auth.redeemLink(auth.newLink().secret)!;
    const pending = auth.newLink();
    auth.close();
    await expect(pending.settled).resolves.toBe('expired');
    expect(auth.bearer(`Bearer ${session}`).ok).toBe(false);
  });
});
