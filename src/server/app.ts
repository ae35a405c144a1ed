// One fastify instance: the security gate (Host, Origin, token — security.ts) in front of everything, then
// the REST API, the event stream, the console bridges and the page. `createServer` (index.ts) makes one for
// TCP and, with --unix, a second one for the socket; both share the libvirt connection and the event hub.
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { VmContext } from '../vm/context.js';
import type { EventHub } from './event-hub.js';
import { HttpError, toApiError } from './http-errors.js';
import { registerConsoleRoutes } from './routes/consoles.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHostRoutes } from './routes/host.js';
import { registerVmRoutes } from './routes/vms.js';
import {
  hostAllowed,
  isStateChanging,
  originAllowed,
  SECURITY_HEADERS,
  type HostPolicy,
  type TokenAuth,
} from './security.js';

export interface AppDeps {
  context: () => Promise<VmContext>;
  hub: EventHub;
  /** The libvirt URI, for messages (doctor). */
  uri?: string;
  /** The built page (dist/web); null serves a note saying how to build it. */
  staticDir: string | null;
}

export interface AppOptions {
  host: HostPolicy;
  /** null: no token needed (the UNIX socket, where file permissions decide who connects). */
  auth: TokenAuth | null;
}

const UNAUTHORIZED_PAGE = `<!doctype html><meta charset="utf-8"><title>roost web: not logged in</title>
<body style="font:16px system-ui;max-width:40em;margin:3em auto;padding:0 1em">
<h1>Not logged in</h1><p>Open the link <code>roost web</code> printed (<code>http://127.0.0.1:PORT/?token=…</code>).
Each link works once; restart <code>roost web</code> for a new one.</p>`;

export async function buildApp(deps: AppDeps, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // No request log: a URL with a token in it must never end up in one.
    logger: false,
    bodyLimit: 64 * 1024,
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (gate(req, reply, opts) === 'answered') return reply;
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toApiError(err);
    if (status >= 500 && !(err instanceof HttpError)) req.log.error(err);
    return reply.code(status).type('application/json').send(body);
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: 1024 * 1024 } });
  registerVmRoutes(app, deps);
  registerHostRoutes(app, deps);
  registerEventRoutes(app, deps);
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

/** Host (421), then Origin (403), then the token (401); a good query token becomes a cookie + redirect. */
function gate(req: FastifyRequest, reply: FastifyReply, opts: AppOptions): 'pass' | 'answered' {
  const host = req.headers.host;
  if (!hostAllowed(host, opts.host)) {
    throw new HttpError(
      421,
      'WRONG_HOST',
      `requests must name this server (Host: 127.0.0.1:PORT or localhost:PORT)`,
    );
  }
  const upgrade = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  if ((upgrade || isStateChanging(req.method)) && !originAllowed(req.headers.origin, host)) {
    throw new HttpError(403, 'WRONG_ORIGIN', 'cross-origin requests are refused');
  }
  if (!opts.auth) return 'pass';
  const d = opts.auth.decide({ method: req.method, url: req.url, headers: req.headers });
  if (d.ok) return 'pass';
  if ('exchange' in d) {
    if (d.exchange.cookie) reply.header('set-cookie', d.exchange.cookie);
    reply.redirect(d.exchange.location, 303);
    return 'answered';
  }
  if (!upgrade && !req.url.startsWith('/api/') && (req.headers.accept ?? '').includes('text/html')) {
    reply.code(401).type('text/html').send(UNAUTHORIZED_PAGE);
    return 'answered';
  }
  throw new HttpError(
    401,
    'UNAUTHORIZED',
    `${d.reason}: send Authorization: Bearer TOKEN, or open the printed link`,
  );
}
