// One fastify instance: the security gate (Host, Origin, credentials — security.ts) in front of everything,
// then the login routes, the REST API, the event stream, the console bridges and the page. `createServer` (index.ts) makes one for
// TCP and, with --unix, a second one for the socket; both share the libvirt connection and the event hub.
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { AppDeps } from './deps.js';
import { HttpError, toApiError } from './http-errors.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerConsoleRoutes } from './routes/consoles.js';
import { registerDeclarativeRoutes } from './routes/declarative.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHostRoutes } from './routes/host.js';
import { registerStatsRoutes } from './routes/stats.js';
import { registerVmRoutes } from './routes/vms.js';
import {
  hostAllowed,
  isStateChanging,
  originAllowed,
  SECURITY_HEADERS,
  ticketKind,
  type HostPolicy,
  type WebAuth,
} from './security.js';

export interface AppOptions {
  host: HostPolicy;
  /** false: no credentials needed (the UNIX socket, where its file mode decides who connects). */
  requireAuth: boolean;
}

export async function buildApp(deps: AppDeps, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // No request log: a URL with a ticket in it must never end up in one.
    logger: false,
    bodyLimit: 64 * 1024,
    // Event streams and consoles never end by themselves: closing must end them, or one open page keeps
    // `roost web` alive after Ctrl-C.
    forceCloseConnections: true,
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.headers(SECURITY_HEADERS);
    gate(req, deps.auth, opts);
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toApiError(err);
    if (status >= 500 && !(err instanceof HttpError)) req.log.error(err);
    return reply.code(status).type('application/json').send(body);
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 * 1024 } });
  registerAuthRoutes(app, deps);
  registerVmRoutes(app, deps);
  registerDeclarativeRoutes(app, deps);
  registerHostRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerStatsRoutes(app, deps);
  registerConsoleRoutes(app, deps);
  app.all('/api/*', async () => {
    throw new HttpError(404, 'NOT_FOUND', 'no such API route (see docs/api.md)');
  });

  if (deps.staticDir) {
    await app.register(fastifyStatic, {
      root: deps.staticDir,
      wildcard: true,
      index: 'index.html',
      cacheControl: false,
    });
  } else {
    app.get('/', async (_req, reply) =>
      reply
        .type('text/html')
        .send(
          '<!doctype html><p>The page is not built: run <code>npm run build:web</code>. The API is at /api/.',
        ),
    );
  }
  return app;
}

/**
 * Host (421), then Origin (403), then credentials (401) for everything under /api/ but the login itself. The
 * page (HTML, JS, CSS) holds no secret: it is served to whoever names us. EventSource and WebSocket send no
 * headers of their own: they bring a ticket (`?ticket=`), and only to the stream it was made for.
 */
function gate(req: FastifyRequest, auth: WebAuth, opts: AppOptions): void {
  const host = req.headers.host;
  if (!hostAllowed(host, opts.host)) {
    throw new HttpError(
      421,
      'WRONG_HOST',
      `requests must name this server (Host: 127.0.0.1:PORT or localhost:PORT)`,
    );
  }
  const url = new URL(req.url, 'http://x');
  const upgrade = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  const ticket = url.searchParams.get('ticket');
  if (
    (upgrade || ticket !== null || isStateChanging(req.method)) &&
    !originAllowed(req.headers.origin, host)
  ) {
    throw new HttpError(403, 'WRONG_ORIGIN', 'cross-origin requests are refused');
  }
  if (!opts.requireAuth) return;
  if (!upgrade && !url.pathname.startsWith('/api/')) return; // the page
  if (url.pathname === '/api/session' && req.method === 'POST') return; // the link is the credential
  const result =
    ticket !== null && req.method === 'GET' && ticketKind(url.pathname) !== null
      ? auth.redeemTicket(ticket, url.pathname)
      : auth.bearer(firstHeader(req.headers.authorization));
  if (result.ok) return;
  throw new HttpError(
    401,
    result.code,
    `${result.reason}: send "Authorization: Bearer TOKEN" (curl -H @the token file roost web names), ` +
      'or open a link from `roost web link`',
  );
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
