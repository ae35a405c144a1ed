// The gate and the login routes of the app, through fastify's inject (no socket, no libvirt): who gets in with
// what, and that no answer ever sets a cookie.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from './app.js';
import { createEventHub } from './event-hub.js';
import { noHostFeeds } from './testing.js';
import { WebAuth } from './security.js';

const HOST = '127.0.0.1:8123';
const ORIGIN = `http://${HOST}`;
let app: FastifyInstance;
let auth: WebAuth;
const answers: LightMyRequestResponse[] = [];

beforeAll(async () => {
  auth = new WebAuth();
  const context = () => Promise.reject(new Error('no libvirt in this test'));
  const hub = createEventHub({ context, retryMs: 60_000 });
  app = await buildApp(
    {
      context,
      hub,
      hostFeeds: noHostFeeds(),
      staticDir: null,
      auth,
      newLink: () => {
        const link = auth.newLink();
        return { ...link, url: `${ORIGIN}/#login=${link.secret}`, opener: null };
      },
    },
    { host: { port: 8123, listen: '127.0.0.1' }, requireAuth: true },
  );
  app.addHook('onClose', () => hub.close());
});
afterAll(() => app.close());

async function send(
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method,
    url,
    headers: { host: HOST, ...headers },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  answers.push(res);
  return res;
}

const login = async () => {
  const link = auth.newLink();
  const res = await send('POST', '/api/session', { origin: ORIGIN }, { link: link.secret });
  return { link, res, session: (res.json() as { session: string }).session };
};

describe('the gate', () => {
  it('serves the page (which holds no secret) without credentials, the API only with them', async () => {
    expect((await send('GET', '/')).statusCode).toBe(200);
    expect((await send('GET', '/api/nope')).statusCode).toBe(401);
    expect((await send('GET', '/api/nope', { authorization: `Bearer ${auth.apiToken}` })).statusCode).toBe(
      404,
    );
  });

  it('trades a link for a session over POST /api/session, once', async () => {
    const { link, res, session } = await login();
    expect(res.statusCode).toBe(200);
    expect((await send('GET', '/api/nope', { authorization: `Bearer ${session}` })).statusCode).toBe(404);
    const again = await send('POST', '/api/session', { origin: ORIGIN }, { link: link.secret });
    expect(again.statusCode).toBe(401);
    expect(again.json()).toMatchObject({ error: { code: 'LINK_INVALID' } });
    // A link secret is no API credential.
    const other = auth.newLink();
    expect((await send('GET', '/api/nope', { authorization: `Bearer ${other.secret}` })).statusCode).toBe(
      401,
    );
  });

  it('refuses a login from another origin (another port of 127.0.0.1 included)', async () => {
    const link = auth.newLink();
    for (const origin of ['http://127.0.0.1:8124', 'http://evil.example', 'null']) {
      const res = await send('POST', '/api/session', { origin }, { link: link.secret });
      expect(res.statusCode).toBe(403);
    }
    // Refused before it was looked at: still good for the user.
    expect((await send('POST', '/api/session', { origin: ORIGIN }, { link: link.secret })).statusCode).toBe(
      200,
    );
  });

  it('gives tickets and links only to the authenticated', async () => {
    const { session } = await login();
    const bearer = { authorization: `Bearer ${session}`, origin: ORIGIN };
    expect((await send('POST', '/api/tickets', { origin: ORIGIN }, { path: '/api/events' })).statusCode).toBe(
      401,
    );
    expect((await send('POST', '/api/links', { origin: ORIGIN }, {})).statusCode).toBe(401);
    const t = await send('POST', '/api/tickets', bearer, { path: '/api/events' });
    expect(t.statusCode).toBe(200);
    expect((await send('POST', '/api/tickets', bearer, { path: '/api/vms' })).statusCode).toBe(400);
    const l = await send('POST', '/api/links', bearer, {});
    expect(l.statusCode).toBe(200);
    expect((l.json() as { url: string }).url).toMatch(/^http:\/\/127\.0\.0\.1:8123\/#login=[\w-]{43}$/);
  });

  it('lets a ticket through once, only to its own path, never as a Bearer token', async () => {
    const { session } = await login();
    const bearer = { authorization: `Bearer ${session}`, origin: ORIGIN };
    const ticket = (await send('POST', '/api/tickets', bearer, { path: '/api/vms/x/console' })).json() as {
      ticket: string;
    };
    // Not on another route, even one of the same VM.
    expect((await send('GET', `/api/vms/x?ticket=${ticket.ticket}`)).statusCode).toBe(401);
    expect((await send('GET', '/api/nope', { authorization: `Bearer ${ticket.ticket}` })).statusCode).toBe(
      401,
    );
    // From another origin: refused.
    expect(
      (await send('GET', `/api/vms/x/console?ticket=${ticket.ticket}`, { origin: 'http://127.0.0.1:9' }))
        .statusCode,
    ).toBe(403);
  });

  it('never sets a cookie', () => {
    expect(answers.length).toBeGreaterThan(10);
    for (const res of answers) expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('answers everything — page, API, refusals — uncacheable, unframable and under a strict CSP', () => {
    for (const res of answers) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(String(res.headers['content-security-policy'])).toMatch(/frame-ancestors 'none'/);
      expect(String(res.headers['content-security-policy'])).toMatch(/script-src 'self'(;|$)/);
    }
  });
});
