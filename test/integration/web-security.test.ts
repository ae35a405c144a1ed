// `roost web` refuses everyone but its user: no credentials → 401 on every API route and upgrade, a foreign
// Host → 421 (DNS rebinding), a foreign Origin on a state-changing request or upgrade → 403. A login link works
// once and is no API credential; tickets work once, for one stream; the API token is in a 0600 file in a 0700
// dir and never in anyone's argv (--open included); no cookie is ever set; another local user gets nothing —
// neither through the port nor through the UNIX socket; one Ctrl-C stops it with streams open.
// The server is the built CLI, run as the unprivileged test user; no VM is booted here.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  http,
  linkSecret,
  redeemLink,
  startWeb,
  ticketFor,
  upgradeStatus,
  type RunningWeb,
} from '../e2e/web-server.js';
import {
  CLI,
  createScope,
  harness,
  roost,
  roostJson,
  run,
  spawnOptionsFor,
  tinyGuest,
  waitUntil,
} from '../harness/index.js';

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

/** The page: no secret in it, served to whoever names the server. */
const PAGE = ['/', '/index.html', '/favicon.ico', '/no/such/page'];
const ROUTES: [string, string][] = [
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
  ['POST', '/api/links'],
  ['POST', '/api/tickets'],
  ['GET', '/api/nope'],
];
const UPGRADES = ['/api/events', '/api/vms/x/console', '/api/vms/x/vnc'];
const modeOf = (p: string) => statSync(p).mode & 0o777;

describe('roost web: the secrets', () => {
  it('prints a one-time #login= link and the token file, never the token', () => {
    expect(web.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${web.port}/#login=[A-Za-z0-9_-]{43}$`));
    expect(web.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(linkSecret(web.url)).not.toBe(web.token);
    expect(web.tokenFile).toBe(join(user.runtimeDir, 'roost', `web-${web.port}.token`));
  });

  it('keeps the API token as a curl header line in a 0600 file of the user, in a 0700 dir', async () => {
    expect(readFileSync(web.tokenFile, 'utf8')).toBe(`Authorization: Bearer ${web.token}\n`);
    expect(modeOf(web.tokenFile)).toBe(0o600);
    expect(statSync(web.tokenFile).uid).toBe(user.uid);
    expect(modeOf(dirname(web.tokenFile))).toBe(0o700);
    expect(statSync(dirname(web.tokenFile)).uid).toBe(user.uid);
    // `curl -H @FILE`, as docs/api.md says, works.
    const r = await run('curl', ['-s', '-H', `@${web.tokenFile}`, `http://127.0.0.1:${web.port}/api/vms`]);
    expect(r.code).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
  });

  it('leaves a record other roost commands find it by (0600), without the token in it', () => {
    const recordFile = join(dirname(web.tokenFile), `web-${web.port}.json`);
    expect(modeOf(recordFile)).toBe(0o600);
    const record = readFileSync(recordFile, 'utf8');
    expect(JSON.parse(record)).toEqual({
      port: web.port,
      origin: web.origin,
      pid: web.child.pid,
      tokenFile: web.tokenFile,
      unix: web.unix,
    });
    expect(record).not.toContain(web.token);
  });

  it('has no secret in its own argv', () => {
    const argv = readFileSync(`/proc/${web.child.pid}/cmdline`, 'utf8');
    expect(argv).not.toContain(web.token);
    expect(argv).not.toContain(linkSecret(web.url));
  });

  it.each(PAGE)('serves the page %s without credentials, and no secret in it', async (path) => {
    const r = await http(web, { path, headers: { host, accept: 'text/html' } });
    expect([200, 404]).toContain(r.status);
    expect(r.body).not.toContain(web.token);
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it.each(ROUTES)('no credentials: %s %s → 401', async (method, path) => {
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

  it.each(UPGRADES)('no credentials: WebSocket upgrade %s → 401', async (path) => {
    expect(await upgradeStatus(`ws://${host}${path}`, { origin: `http://${host}` })).toBe(401);
  });

  it('answers with the token, as JSON errors shaped {error:{code,message}}', async () => {
    const ok = await http(web, { path: '/api/vms', headers: { host, ...bearer() } });
    expect(ok.status, ok.body).toBe(200);
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

  it('trades the link once for a page session; the link is no API credential; no cookie is set', async () => {
    const link = (await roostJson<{ url: string }>(user, ['web', 'link', '--port', String(web.port)])).url;
    // Before its use, the link's secret opens nothing.
    const early = await http(web, {
      path: '/api/vms',
      headers: { host, authorization: `Bearer ${linkSecret(link)}` },
    });
    expect(early.status).toBe(401);
    const first = await redeemLink(web, link);
    expect(first.status).toBe(200);
    expect(first.headers['set-cookie']).toBeUndefined();
    const session = (JSON.parse(first.body) as { session: string }).session;
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session).not.toBe(web.token);

    const asPage = await http(web, {
      path: '/api/vms',
      headers: { host, authorization: `Bearer ${session}` },
    });
    expect(asPage.status).toBe(200);
    expect(asPage.headers['set-cookie']).toBeUndefined();

    // The same link again — leaked through history or a shoulder — is refused, and is still no credential.
    const again = await redeemLink(web, link);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body).error.code).toBe('LINK_INVALID');
    const after = await http(web, {
      path: '/api/vms',
      headers: { host, authorization: `Bearer ${linkSecret(link)}` },
    });
    expect(after.status).toBe(401);
    // The old scheme's ?token= opens nothing either.
    expect((await http(web, { path: `/api/vms?token=${web.token}`, headers: { host } })).status).toBe(401);
  });

  it('refuses a login from another origin, another port of 127.0.0.1 included', async () => {
    const link = (await roostJson<{ url: string }>(user, ['web', 'link', '--port', String(web.port)])).url;
    for (const origin of [`http://127.0.0.1:${web.port + 1}`, 'http://evil.example', 'null']) {
      expect((await redeemLink(web, link, origin)).status).toBe(403);
    }
    expect((await redeemLink(web, link)).status).toBe(200);
  });

  it('opens a stream with a ticket once, only the stream it was made for', async () => {
    const ticket = await ticketFor(web, web.token, '/api/events');
    const origin = { origin: `http://${host}` };
    expect(await upgradeStatus(`ws://${host}/api/vms/x/console?ticket=${ticket}`, origin)).toBe(401);
    const fresh = await ticketFor(web, web.token, '/api/events');
    expect(await upgradeStatus(`ws://${host}/api/events?ticket=${fresh}`, origin)).toBe(101);
    expect(await upgradeStatus(`ws://${host}/api/events?ticket=${fresh}`, origin)).toBe(401);
    // EventSource's way: a GET with the ticket.
    const sse = await ticketFor(web, web.token, '/api/events');
    const r = await http(web, { path: `/api/events?ticket=${sse}`, headers: { host } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    expect((await http(web, { path: `/api/events?ticket=${sse}`, headers: { host } })).status).toBe(401);
    // A ticket is no API credential.
    const other = await ticketFor(web, web.token, '/api/events');
    expect((await http(web, { path: `/api/vms?ticket=${other}`, headers: { host } })).status).toBe(401);
    expect(
      (await http(web, { path: '/api/vms', headers: { host, authorization: `Bearer ${other}` } })).status,
    ).toBe(401);
  });

  it('roost web link: needs a running server, says so', async () => {
    const r = await roost(user, ['web', 'link', '--port', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no roost web of yours runs on port 1/);
  });
});

describe('roost web --open', () => {
  it("hands $BROWSER a 0600 page that redirects to a fresh link: no secret in the browser's argv", async () => {
    // A browser stand-in: records its argv (and its /proc cmdline, as another user would read it), then does
    // what the page does with the link the file leads to — without putting the secret in any argv itself.
    const dir = join('/tmp', `${scope.prefix}browser`);
    mkdirSync(dir, { mode: 0o755 });
    if (process.getuid?.() === 0) chownSync(dir, user.uid, user.gid);
    const seen = join(dir, 'seen');
    const browser = join(dir, 'browser.sh');
    writeFileSync(
      browser,
      [
        '#!/bin/sh',
        `out=${seen}`,
        'printf "%s\\n" "$@" > "$out.argv"',
        'tr "\\0" "\\n" < /proc/$$/cmdline > "$out.cmdline"',
        'stat -c "%a %u" "$1" > "$out.stat"',
        'url=$(sed -n "s/.*location.replace(\\"\\([^\\"]*\\)\\").*/\\1/p" "$1")',
        'printf "%s\\n" "$url" > "$out.url"',
        'secret=${url#*#login=}; origin=${url%%/#login=*}',
        'printf \'{"link":"%s"}\' "$secret" | curl -s -o /dev/null -w "%{http_code}" -H "origin: $origin" \\',
        '  -H "content-type: application/json" --data-binary @- "$origin/api/session" > "$out.tmp"',
        'mv "$out.tmp" "$out"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const opened = await startWeb(user, ['--open'], 30_000, { BROWSER: `/nonexistent/browser:${browser}` });
    try {
      expect(await waitUntil(() => existsSync(seen), 20_000, 100)).toBe(true);
      const argv = readFileSync(`${seen}.argv`, 'utf8').trim().split('\n');
      expect(argv).toHaveLength(1);
      const opener = argv[0]!;
      expect(opener).toMatch(new RegExp(`^${user.runtimeDir}/roost/open-[A-Za-z0-9_-]+\\.html$`));
      expect(readFileSync(`${seen}.stat`, 'utf8').trim()).toBe(`600 ${user.uid}`);
      const url = readFileSync(`${seen}.url`, 'utf8').trim();
      const secret = linkSecret(url);
      expect(url.startsWith(`${opened.origin}/#login=`)).toBe(true);
      // The browser's argv, as every local user can read it, holds the file's path, never the secret.
      expect(readFileSync(`${seen}.cmdline`, 'utf8')).not.toContain(secret);
      expect(readFileSync(`${seen}.cmdline`, 'utf8')).toContain(opener);
      // It logged in with it…
      expect(readFileSync(seen, 'utf8').trim()).toBe('200');
      // …so the page is gone and the link spent.
      expect(await waitUntil(() => !existsSync(opener), 5_000, 50)).toBe(true);
      expect((await redeemLink(opened, url)).status).toBe(401);
      // The printed link is another one, still good.
      expect(linkSecret(opened.url)).not.toBe(secret);
    } finally {
      await opened.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('roost web: stopping', () => {
  it('exits 130 on one Ctrl-C with an event stream and a WebSocket open, and removes its files', async () => {
    const other = await startWeb(user);
    const h = `127.0.0.1:${other.port}`;
    const recordFile = join(dirname(other.tokenFile), `web-${other.port}.json`);
    let sse = '';
    const req = request({
      host: '127.0.0.1',
      port: other.port,
      path: `/api/events?ticket=${await ticketFor(other, other.token, '/api/events')}`,
      headers: { host: h },
    });
    req.on('response', (res) => res.on('data', (b: Buffer) => (sse += b.toString())));
    req.on('error', () => {});
    req.end();
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://${h}/api/events`, { headers: { authorization: `Bearer ${other.token}` } });
    ws.on('error', () => {});
    const opened = new Promise((r) => ws.once('open', r));
    try {
      expect(await waitUntil(() => sse.includes('event: ready'), 10_000)).toBe(true);
      await opened;
      const exited = new Promise<number | null>((r) => other.child.once('exit', (code) => r(code)));
      const sent = Date.now();
      other.child.kill('SIGINT');
      const code = await Promise.race([
        exited,
        new Promise((r) => setTimeout(() => r('still running'), 5_000)),
      ]);
      expect(code).toBe(130);
      expect(Date.now() - sent).toBeLessThan(5_000);
      expect(existsSync(other.tokenFile)).toBe(false);
      expect(existsSync(recordFile)).toBe(false);
    } finally {
      req.destroy();
      ws.terminate();
      await other.stop();
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
