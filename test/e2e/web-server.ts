// Test helpers for `roost web`: the built CLI started as the test user (the way a user starts it), and an
// HTTP client that can send any Host and Origin (fetch cannot set Host).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { assertBuilt, CLI } from '../harness/cli.js';
import { spawnOptionsFor } from '../harness/run.js';
import type { TestUser } from '../harness/test-user.js';

export interface RunningWeb {
  /** The first one-time login link, http://127.0.0.1:PORT/#login=SECRET. */
  url: string;
  origin: string;
  port: number;
  /** The API token file roost web wrote (a curl header line). */
  tokenFile: string;
  /** The API token, read from tokenFile (the tests run as root, or as the user). */
  token: string;
  unix: string | null;
  child: ChildProcess;
  /** Everything the server wrote on stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `roost web --json ARGS` as `user` and waits for the line that says where it listens. */
export function startWeb(
  user: TestUser,
  args: string[] = [],
  timeoutMs = 30_000,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningWeb> {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, 'web', '--json', ...args], {
    ...spawnOptionsFor(user, { env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`roost web did not start in ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`roost web exited with ${code}: ${err}`));
    });
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const info = JSON.parse(out.slice(0, nl)) as Omit<RunningWeb, 'child' | 'stderr' | 'stop' | 'token'>;
      const token = /^Authorization: Bearer (\S+)\n$/.exec(readFileSync(info.tokenFile, 'utf8'))?.[1] ?? '';
      resolve({
        ...info,
        token,
        child,
        stderr: () => err,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      });
    });
  });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request to 127.0.0.1:port (or a UNIX socket), with exactly the headers given. */
export function http(
  target: { port: number } | { socketPath: string },
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...('port' in target ? { host: '127.0.0.1', port: target.port } : { socketPath: target.socketPath }),
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        // Node sends DELETE bodies unframed unless told their length.
        headers:
          opts.body === undefined
            ? opts.headers
            : { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        // An event stream never ends: the head and a first chunk are enough.
        const sse = String(res.headers['content-type']).startsWith('text/event-stream');
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (sse) res.destroy();
        });
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          });
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * A request to the API as a script makes it: the server's API token, its own Host, JSON `body` when given, and
 * `headers` on top (to replace or blank one of those).
 */
export function apiRequest(
  web: RunningWeb,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<HttpResult> {
  return http(web, {
    method,
    path,
    headers: {
      host: `127.0.0.1:${web.port}`,
      authorization: `Bearer ${web.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Tries a WebSocket upgrade; resolves 101 when it opened, else the HTTP status the server answered. */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

/** The secret of a login link (after #login=). */
export function linkSecret(url: string): string {
  const m = /#login=([A-Za-z0-9_-]{43})$/.exec(url);
  if (!m) throw new Error(`not a login link: ${url}`);
  return m[1]!;
}

/** Does what the page does with a login link: POST /api/session (same origin); resolves with the answer. */
export function redeemLink(web: { port: number }, url: string, origin?: string): Promise<HttpResult> {
  const host = `127.0.0.1:${web.port}`;
  return http(web, {
    method: 'POST',
    path: '/api/session',
    headers: { host, origin: origin ?? `http://${host}`, 'content-type': 'application/json' },
    body: JSON.stringify({ link: linkSecret(url) }),
  });
}

/** A ticket for the stream at `path`, got with `bearer` (the API token or a page session). */
export async function ticketFor(web: { port: number }, bearer: string, path: string): Promise<string> {
  const host = `127.0.0.1:${web.port}`;
  const r = await http(web, {
    method: 'POST',
    path: '/api/tickets',
    headers: { host, authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ path }),
  });
  if (r.status !== 200) throw new Error(`no ticket for ${path}: ${r.status} ${r.body}`);
  return (JSON.parse(r.body) as { ticket: string }).ticket;
}
