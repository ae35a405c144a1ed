import { describe, expect, it } from 'vitest';
import { hostAllowed, isLoopbackAddress, originAllowed, parseHost, TokenAuth } from './security.js';

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

describe('TokenAuth', () => {
  const token = 'a'.repeat(43);
  const get = (url: string, headers: Record<string, string> = {}) => ({ method: 'GET', url, headers });

  it('makes 32-byte base64url tokens, different each start', () => {
    const a = new TokenAuth('c');
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new TokenAuth('c').token).not.toBe(a.token);
  });

  it('accepts the Bearer token, refuses others and nothing', () => {
    const auth = new TokenAuth('c', token);
    expect(auth.decide(get('/api/vms', { authorization: `Bearer ${token}` }))).toEqual({
      ok: true,
      via: 'bearer',
    });
    expect(auth.decide(get('/api/vms', { authorization: `Bearer ${token}x` })).ok).toBe(false);
    expect(auth.decide(get('/api/vms', { authorization: token })).ok).toBe(false);
    expect(auth.decide(get('/api/vms'))).toMatchObject({ ok: false, reason: 'no token' });
  });

  it('trades the query token once for a cookie, then refuses the query token', () => {
    const auth = new TokenAuth('c', token);
    const first = auth.decide(get(`/vm/x?a=1&token=${token}`));
    expect(first).toMatchObject({ ok: false, exchange: { location: '/vm/x?a=1' } });
    const cookie = (first as { exchange: { cookie: string } }).exchange.cookie;
    expect(cookie).toMatch(/^c=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(cookie).not.toContain(token);
    const session = cookie.split(';')[0]!;
    expect(auth.decide(get('/api/vms', { cookie: session }))).toEqual({ ok: true, via: 'cookie' });
    expect(auth.decide(get(`/?token=${token}`))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/once/),
    });
    // With the session cookie, a leftover ?token= only gets removed from the address.
    expect(auth.decide(get(`/?token=${token}`, { cookie: session }))).toEqual({
      ok: false,
      exchange: { cookie: '', location: '/' },
    });
    expect(auth.decide(get('/api/vms', { cookie: 'c=forged' })).ok).toBe(false);
  });

  it('does not trade a wrong query token (and keeps the right one usable)', () => {
    const auth = new TokenAuth('c', token);
    expect(auth.decide(get('/?token=nope')).ok).toBe(false);
    expect(auth.decide(get(`/?token=${token}`))).toMatchObject({ exchange: { location: '/' } });
  });
});
