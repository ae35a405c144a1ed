// `roost web` refuses everyone but its user: no token → 401 on every route and upgrade, a foreign Host → 421
// (DNS rebinding), a foreign Origin on a state-changing request or upgrade → 403, the link's token works once,
// and another local user gets nothing — neither through the port nor through the UNIX socket.
// The server is the built CLI, run as the unprivileged test user; no VM is booted here.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startWeb, upgradeStatus, type RunningWeb } from '../e2e/web-server.js';
import { CLI, createScope, harness, roost, spawnOptionsFor, tinyGuest, waitUntil } from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('websec', user, uri);
let web: RunningWeb;
let sockDir: string;
let host: string;

const NOBODY = { uid: 65534, gid: 65534 };

beforeAll(async () => {
  // A world-searchable directory, so the only thing keeping other users off the socket is its own mode.
  sockDir = join('/tmp', `${scope.prefix}sock`);
  mkdirSync(sockDir, { mode: 0o755 });
  if (process.getuid?.() === 0) chownSync(sockDir, user.uid, user.gid);
  web = await startWeb(user, ['--unix', join(sockDir, 'api.sock')]);
  host = `127.0.0.1:${web.port}`;
});
afterAll(async () => {
  await web?.stop();
  await scope.cleanup();
  if (sockDir) rmSync(sockDir, { recursive: true, force: true });
});

const bearer = () => ({ authorization: `Bearer ${web.token}` });

const ROUTES: [string, string][] = [
  ['GET', '/'],
  ['GET', '/index.html'],
  ['GET', '/assets/index.js'],
  ['GET', '/favicon.ico'],
  ['GET', '/no/such/page'],
  ['GET', '/api/vms'],
  ['POST', '/api/vms'],
  ['GET', '/api/vms/x'],
  ['PATCH', '/api/vms/x'],
  ['DELETE', '/api/vms/x'],
  ['POST', '/api/vms/x/start'],
  ['POST', '/api/vms/x/stop'],
  ['GET', '/api/vms/x/ports'],
  ['POST', '/api/vms/x/ports'],
  ['DELETE', '/api/vms/x/ports/8080:80'],
  ['GET', '/api/vms/x/ip'],
  ['GET', '/api/images'],
  ['POST', '/api/images/pull'],
  ['GET', '/api/doctor'],
  ['GET', '/api/connection'],
  ['GET', '/api/events'],
  ['GET', '/api/nope'],
];
const UPGRADES = ['/api/events', '/api/vms/x/console', '/api/vms/x/vnc'];

describe('roost web: the token', () => {
  it('prints a link with a 32-byte base64url token on 127.0.0.1', () => {
    expect(web.url).toBe(`http://127.0.0.1:${web.port}/?token=${web.token}`);
    expect(web.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each(ROUTES)('no token: %s %s → 401', async (method, path) => {
    const r = await http(web, {
      method,
      path,
      headers: { host, origin: `http://${host}`, 'content-type': 'application/json' },
      body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
    });
    expect(r.status).toBe(401);
    expect(r.body).not.toContain('"name"'); // nothing about any VM leaks
  });

  it.each(ROUTES)('a wrong token: %s %s → 401', async (method, path) => {
    const r = await http(web, { method, path, headers: { host, authorization: `Bearer ${'x'.repeat(43)}` } });
    expect(r.status).toBe(401);
  });

  it.each(UPGRADES)('no token: WebSocket upgrade %s → 401', async (path) => {
    expect(await upgradeStatus(`ws://${host}${path}`, { origin: `http://${host}` })).toBe(401);
  });

  it('answers with the token, as JSON errors shaped {error:{code,message}}', async () => {
    const ok = await http(web, { path: '/api/vms', headers: { host, ...bearer() } });
    expect(ok.status).toBe(200);
    expect(Array.isArray(JSON.parse(ok.body))).toBe(true);
    const missing = await http(web, { path: '/api/vms/rt-no-such-vm', headers: { host, ...bearer() } });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({
      error: { code: 'VM_NOT_FOUND', message: expect.any(String) },
    });
    const bad = await http(web, {
      method: 'POST',
      path: '/api/vms',
      headers: { host, ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', memory: '1G', cpus: 1, surprise: true }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('INVALID_REQUEST');
    expect(await upgradeStatus(`ws://${host}/api/events`, { ...bearer(), origin: `http://${host}` })).toBe(
      101,
    );
  });

  it('trades the link token once for an HttpOnly SameSite=Strict cookie and a token-less redirect', async () => {
    const first = await http(web, { path: `/?token=${web.token}`, headers: { host } });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    const setCookie = String(first.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(web.token);
    const cookie = setCookie.split(';')[0]!;

    const page = await http(web, { path: '/api/vms', headers: { host, cookie } });
    expect(page.status).toBe(200);
    expect(await upgradeStatus(`ws://${host}/api/events`, { cookie, origin: `http://${host}` })).toBe(101);

    // The same link again — leaked through history, a Referer or a shoulder — is refused now.
    const again = await http(web, { path: `/?token=${web.token}`, headers: { host } });
    expect(again.status).toBe(401);
    const api = await http(web, { path: `/api/vms?token=${web.token}`, headers: { host } });
    expect(api.status).toBe(401);
  });
});

describe('roost web --open', () => {
  it("hands the one-time link to the user's $BROWSER, which logs in with it", async () => {
    // A browser stand-in that does what a browser does with the link: one GET, following nothing.
    const dir = join('/tmp', `${scope.prefix}browser`);
    mkdirSync(dir, { mode: 0o755 });
    if (process.getuid?.() === 0) chownSync(dir, user.uid, user.gid);
    const seen = join(dir, 'seen');
    const browser = join(dir, 'browser.sh');
    writeFileSync(
      browser,
      `#!/bin/sh\ncode=$(curl -s -o /dev/null -w '%{http_code}' "$1")\nprintf '%s %s\\n' "$code" "$1" > ${seen}.tmp\nmv ${seen}.tmp ${seen}\n`,
      { mode: 0o755 },
    );
    const opened = await startWeb(user, ['--open'], 30_000, { BROWSER: `/nonexistent/browser:${browser}` });
    try {
      expect(await waitUntil(() => existsSync(seen), 20_000, 100)).toBe(true);
      // The browser got the link and traded its token (303 to the clean URL)…
      expect(readFileSync(seen, 'utf8').trim()).toBe(`303 ${opened.url}`);
      // …so it is spent: nobody else can use it now.
      const again = await http(opened, {
        path: `/?token=${opened.token}`,
        headers: { host: `127.0.0.1:${opened.port}` },
      });
      expect(again.status).toBe(401);
    } finally {
      await opened.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('roost web: Host and Origin', () => {
  it.each([`evil.example:PORT`, 'localhost.evil.example:PORT', '127.0.0.1.nip.io:PORT', '127.0.0.1:1'])(
    'Host %s → 421, even with the token',
    async (h) => {
      const r = await http(web, {
        path: '/api/vms',
        headers: { host: h.replace('PORT', String(web.port)), ...bearer() },
      });
      expect(r.status).toBe(421);
    },
  );

  it('a WebSocket upgrade with a foreign Host → 421', async () => {
    expect(
      await upgradeStatus(`ws://${host}/api/events`, { ...bearer(), host: `evil.example:${web.port}` }),
    ).toBe(421);
  });

  it.each([
    ['POST', '/api/vms/x/start'],
    ['POST', '/api/vms'],
    ['DELETE', '/api/vms/x'],
    ['PATCH', '/api/vms/x'],
  ])('cross-origin %s %s → 403, even with the token', async (method, path) => {
    const r = await http(web, {
      method,
      path,
      headers: { host, ...bearer(), origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(r.status).toBe(403);
  });

  it('a cross-origin WebSocket upgrade → 403, even with the token', async () => {
    for (const path of UPGRADES) {
      expect(await upgradeStatus(`ws://${host}${path}`, { ...bearer(), origin: 'http://evil.example' })).toBe(
        403,
      );
    }
  });

  it('a same-origin POST gets through to the use case', async () => {
    const r = await http(web, {
      method: 'POST',
      path: '/api/vms/rt-no-such-vm/start',
      headers: { host, ...bearer(), origin: `http://${host}` },
    });
    expect(r.status).toBe(404);
  });
});

describe('roost web: other local users', () => {
  /** Runs a snippet of node as `nobody` and returns what it printed. */
  function asNobody(code: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', code], {
        ...NOBODY,
        cwd: '/',
        env: { PATH: '/usr/bin:/bin' },
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('exit', () => resolve(out.trim()));
    });
  }

  it('gets 401 through the port (it can connect, it cannot know the token)', async () => {
    const out = await asNobody(
      `require('http').get({host:'127.0.0.1',port:${web.port},path:'/api/vms'},r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>console.log(r.statusCode,b))}).on('error',e=>console.log('ERR',e.code))`,
    );
    expect(out).toMatch(/^401 /);
    expect(out).toContain('UNAUTHORIZED');
  });

  it('cannot connect to the UNIX socket (0600, owned by the user), which answers its owner without a token', async () => {
    const st = statSync(web.unix!);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(user.uid);
    const out = await asNobody(
      `require('http').get({socketPath:${JSON.stringify(web.unix)},path:'/api/vms'},r=>console.log(r.statusCode)).on('error',e=>console.log('ERR',e.code))`,
    );
    expect(out).toBe('ERR EACCES');
    // The owner (root here stands in for the user: both pass the permission check) gets the API.
    const mine = await http({ socketPath: web.unix! }, { path: '/api/vms', headers: { host: 'localhost' } });
    expect(mine.status).toBe(200);
  });

  it('runs the server as the test user, not root', () => {
    const status = statSync(`/proc/${web.child.pid}`);
    expect(status.uid).toBe(user.uid);
  });
});

describe('the event stream (no VM is booted: define and undefine are lifecycle events too)', () => {
  it('reaches SSE subscribers and `roost events --json` alike, pushed by libvirt', async () => {
    const name = scope.name('ev');
    const guest = tinyGuest(user);
    // `roost events --json` as the user, in its own process.
    const cli = spawn(process.execPath, [CLI, 'events', '--json'], {
      ...spawnOptionsFor(user),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let cliOut = '';
    cli.stdout!.on('data', (b: Buffer) => (cliOut += b.toString()));
    // An SSE subscriber with the token.
    let sse = '';
    const req = request({
      host: '127.0.0.1',
      port: web.port,
      path: '/api/events',
      headers: { host, ...bearer() },
    });
    req.on('response', (res) => res.on('data', (b: Buffer) => (sse += b.toString())));
    req.end();
    try {
      expect(await waitUntil(() => sse.includes('event: ready'), 10_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 1500)); // `roost events` has registered by now
      const args = ['--kernel', guest.kernel, '--initrd', guest.initrd, '--memory', '128M', '--cpus', '1'];
      expect((await roost(user, ['create', name, ...args, '--no-start'])).code).toBe(0);
      expect((await roost(user, ['rm', name])).code).toBe(0);
      const sseHas = (ev: string) => sse.includes(`"event":"${ev}"`) && sse.includes(`"name":"${name}"`);
      expect(await waitUntil(() => sseHas('defined') && sseHas('undefined'), 10_000)).toBe(true);
      const frame = sse.split('\n\n').find((f) => f.includes(`"name":"${name}"`) && f.includes('"defined"'))!;
      expect(frame).toMatch(/^event: vm$/m);
      const data = JSON.parse(
        frame
          .split('\n')
          .find((l) => l.startsWith('data: '))!
          .slice(6),
      );
      expect(data).toMatchObject({
        type: 'vm',
        event: 'defined',
        detail: 'added',
        vm: { name, state: 'shutoff' },
      });

      const lines = () =>
        cliOut
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { event: string; name: string });
      expect(
        await waitUntil(() => lines().some((e) => e.name === name && e.event === 'undefined'), 10_000),
      ).toBe(true);
      expect(
        lines()
          .filter((e) => e.name === name)
          .map((e) => e.event),
      ).toEqual(['defined', 'undefined']);
    } finally {
      req.destroy();
      cli.kill('SIGINT');
    }
    // Ctrl-C ends `roost events` cleanly.
    const code = await new Promise((r) => cli.once('exit', r));
    expect(code).toBe(0);
  });
});
