// A hostile page in the user's own browser: served from another port of 127.0.0.1 (as a guest's web app behind
// a roost port forward would be), it tries everything a page can against roost web's API — fetch with
// credentials, no-cors and cors, a form POST, EventSource, WebSocket — before and after the user logged in in
// the same browser context. Nothing gets through (every answer roost gives it is 401 or 403, and nothing is
// created), and the browser holds no cookie at all. Also: a link works once and not after it expired, and its
// secret is no API credential. Real server (the built CLI as the test user), real Chromium; no VM is booted.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScope, domainNames, harness, roostJson } from '../harness/index.js';
import { launchChromium } from './browser.js';
import { http, linkSecret, startWeb, type RunningWeb } from './web-server.js';

const { user, uri } = harness();
const scope = createScope('webatk', user, uri);
const victimVm = scope.name('evil');

let web: RunningWeb;
let browser: Browser;
let evil: Server;
let evilOrigin: string;
/** The Cookie headers the browser sent the attacker's server (a cookie of 127.0.0.1 reaches every port). */
const cookiesSeenByEvil: (string | undefined)[] = [];

/** The attacker's script: every way a page can reach roost; resolves with what each attempt saw. */
const ATTACK = (target: string, vm: string) => `(async () => {
  const T = ${JSON.stringify(target)};
  const out = {};
  const attempt = async (name, fn) => {
    try { out[name] = await fn(); } catch (e) { out[name] = 'error: ' + (e && e.message); }
  };
  const body = JSON.stringify({ name: ${JSON.stringify(vm)}, kernel: '/etc/passwd', memory: '128M', cpus: 1 });
  await attempt('fetch-credentials', async () => {
    const r = await fetch(T + '/api/vms', { credentials: 'include' });
    return 'read ' + r.status + ' ' + (await r.text()).slice(0, 80);
  });
  await attempt('fetch-cors-post', async () => {
    const r = await fetch(T + '/api/vms', { method: 'POST', credentials: 'include', mode: 'cors',
      headers: { 'content-type': 'application/json' }, body });
    return 'read ' + r.status;
  });
  await attempt('fetch-no-cors-post', async () => {
    const r = await fetch(T + '/api/vms', { method: 'POST', credentials: 'include', mode: 'no-cors',
      headers: { 'content-type': 'text/plain' }, body });
    return 'opaque ' + r.type;
  });
  await attempt('fetch-no-cors-links', async () => {
    const r = await fetch(T + '/api/links', { method: 'POST', credentials: 'include', mode: 'no-cors' });
    return 'opaque ' + r.type;
  });
  await attempt('fetch-session-without-link', async () => {
    const r = await fetch(T + '/api/session', { method: 'POST', credentials: 'include', mode: 'no-cors',
      headers: { 'content-type': 'text/plain' }, body: '{"link":"x"}' });
    return 'opaque ' + r.type;
  });
  await attempt('eventsource', () => new Promise((resolve) => {
    const es = new EventSource(T + '/api/events', { withCredentials: true });
    es.onopen = () => { es.close(); resolve('OPEN'); };
    es.onerror = () => { es.close(); resolve('failed'); };
    es.addEventListener('ready', () => { es.close(); resolve('READY'); });
  }));
  for (const path of ['/api/events', '/api/vms/x/console', '/api/vms/x/vnc']) {
    await attempt('websocket ' + path, () => new Promise((resolve) => {
      const ws = new WebSocket(T.replace('http:', 'ws:') + path);
      ws.onopen = () => { ws.close(); resolve('OPEN'); };
      ws.onerror = () => resolve('failed');
    }));
  }
  return out;
})()`;

const FORM = (target: string) => `(() => {
  const f = document.createElement('form');
  f.method = 'POST';
  f.action = ${JSON.stringify(target)} + '/api/vms/x/start';
  f.enctype = 'text/plain';
  const i = document.createElement('input');
  i.name = '{"force":true,"x":"';
  i.value = '"}';
  f.appendChild(i);
  document.body.appendChild(f);
  f.submit();
})()`;

/** Everything the attacker page tried, and the statuses roost answered it with (those the browser reports). */
async function attack(
  context: BrowserContext,
): Promise<{ results: Record<string, string>; statuses: number[] }> {
  const page = await context.newPage();
  const statuses: number[] = [];
  page.on('response', (r) => {
    if (new URL(r.url()).port === String(web.port)) statuses.push(r.status());
  });
  try {
    await page.goto(`${evilOrigin}/`);
    const results = await page.evaluate<Record<string, string>>(ATTACK(web.origin, victimVm));
    // The form POST navigates the page: roost's answer is the new document.
    const [nav] = await Promise.all([
      page.waitForResponse(
        (r) => new URL(r.url()).port === String(web.port) && r.request().method() === 'POST',
      ),
      page.evaluate(FORM(web.origin)),
    ]);
    results.form = `status ${nav.status()}`;
    return { results, statuses };
  } finally {
    await page.close();
  }
}

function expectNothingGotThrough(r: { results: Record<string, string>; statuses: number[] }): void {
  for (const [name, seen] of Object.entries(r.results)) {
    expect(seen, name).not.toMatch(/OPEN|READY|^read 2/);
    if (name.startsWith('websocket') || name === 'eventsource') expect(seen, name).toBe('failed');
    if (name.startsWith('fetch-credentials') || name.startsWith('fetch-cors'))
      expect(seen, name).toMatch(/^error/);
  }
  expect(r.results.form).toMatch(/^status 40[13]$/);
  // Chromium reports few of the blocked requests to the network events; those it reports are refusals.
  expect(r.statuses.length).toBeGreaterThan(0);
  for (const s of r.statuses) expect([401, 403]).toContain(s);
}

beforeAll(async () => {
  web = await startWeb(user);
  browser = await launchChromium();
  evil = createServer((req, res) => {
    cookiesSeenByEvil.push(req.headers.cookie);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>a page on another port</title><body>hello');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  evilOrigin = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await web?.stop();
  await new Promise((r) => evil?.close(r));
  await scope.cleanup();
});

describe('a page on another port of 127.0.0.1, in the same browser', () => {
  let context: BrowserContext;
  let console_: Page;

  beforeAll(async () => {
    context = await browser.newContext();
  });
  afterAll(() => context?.close());

  it('gets nothing before the user logged in', async () => {
    expectNothingGotThrough(await attack(context));
    expect(await domainNames(uri)).not.toContain(victimVm);
  });

  it('gets nothing while the user is logged in, in another tab of the same context', async () => {
    console_ = await context.newPage();
    await console_.goto(web.url);
    await console_.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
    expectNothingGotThrough(await attack(context));
    // The user's tab is still logged in, and nothing was created.
    await console_.reload();
    await console_.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
    expect(await domainNames(uri)).not.toContain(victimVm);
  });

  it('is sent no cookie by the browser, so its own server has nothing to replay', () => {
    expect(cookiesSeenByEvil.length).toBeGreaterThanOrEqual(2);
    expect(cookiesSeenByEvil.filter((c) => c !== undefined)).toEqual([]);
  });

  it('finds no cookie in the browser for any port of 127.0.0.1', async () => {
    expect(await context.cookies()).toEqual([]);
    expect(await context.cookies([web.origin, evilOrigin])).toEqual([]);
  });
});

describe('links', () => {
  it('a link is no Bearer token, before or after its use, and works once', async () => {
    const { url } = await roostJson<{ url: string }>(user, ['web', 'link']);
    const host = `127.0.0.1:${web.port}`;
    const asBearer = () =>
      http(web, { path: '/api/vms', headers: { host, authorization: `Bearer ${linkSecret(url)}` } });
    expect((await asBearer()).status).toBe(401);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url);
      await page.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
      expect((await asBearer()).status).toBe(401);
      const again = await context.newPage();
      await again.goto(url);
      await again.locator('[data-testid="logged-out"]').waitFor({ timeout: 15_000 });
    } finally {
      await context.close();
    }
  });

  it('a link does not work after it expired', async () => {
    const short = await startWeb(user, [], 30_000, { ROOST_TEST_LINK_TTL_MS: '1500' });
    const context = await browser.newContext();
    try {
      await new Promise((r) => setTimeout(r, 2_000));
      const page = await context.newPage();
      await page.goto(short.url);
      const note = page.locator('[data-testid="logged-out"]');
      await note.waitFor({ timeout: 15_000 });
      expect(await note.innerText()).toMatch(/used already or has expired/);
      // A fresh one (from the same server) still works.
      const { url } = await roostJson<{ url: string }>(user, ['web', 'link', '--port', String(short.port)]);
      await page.goto(url);
      await page.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
    } finally {
      await context.close();
      await short.stop();
    }
  });
});
