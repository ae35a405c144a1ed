// Test support for the server's unit tests; not part of roost (the build leaves testing.ts files out).
import type { FastifyInstance } from 'fastify';
import type { VmContext } from '../vm/context.js';
import { buildApp } from './app.js';
import { createEventHub, type EventHub } from './event-hub.js';
import { createHostFeeds, type HostFeeds } from './host-feeds.js';
import { WebAuth } from './security.js';

/** Host feeds over an empty host list: for tests of routes that do not follow other hosts. */
export function noHostFeeds(): HostFeeds {
  return createHostFeeds({ hosts: async () => [], open: () => Promise.reject(new Error('no hosts here')) });
}

/**
 * The app as the routes' unit tests drive it: no login asked, Host 127.0.0.1:`port`, no other hosts, and the
 * event hub (by default one over `context`) closed with the app.
 */
export async function testApp(opts: {
  context: () => Promise<VmContext>;
  hub?: EventHub;
  port?: number;
}): Promise<FastifyInstance> {
  const hub = opts.hub ?? createEventHub({ context: opts.context, retryMs: 60_000 });
  const auth = new WebAuth();
  const app = await buildApp(
    {
      context: opts.context,
      hub,
      hostFeeds: noHostFeeds(),
      staticDir: null,
      auth,
      newLink: () => ({ ...auth.newLink(), url: '', opener: null }),
    },
    { host: { port: opts.port ?? 8123, listen: '127.0.0.1' }, requireAuth: false },
  );
  app.addHook('onClose', () => hub.close());
  return app;
}
