// Logging in and the credentials derived from a login (security.ts says why there are no cookies):
//
// - POST /api/session {link} → {session}: trades a one-time login link's secret (from the page's #login=
//   fragment) for a page session secret, which the page sends as `Authorization: Bearer SESSION`. No
//   credentials needed but the link; Origin is checked (it is a state-changing request).
// - POST /api/links {opener?} → {url, expiresAt, opener}: a new one-time login link (`roost web link`, the
//   page's "New tab" button). With opener: true, also a 0600 file that redirects to it, for a browser's argv.
// - POST /api/tickets {path} → {ticket, expiresAt}: a single-use, short-lived ticket for the event stream or a
//   console WebSocket at `path` (EventSource and WebSocket cannot send an Authorization header).
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../http-errors.js';
import type { LinkCreated, SessionGranted, TicketGranted } from '../../shared/web.js';

function bodyField(body: unknown, key: string): unknown {
  return body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
}

function stringField(body: unknown, key: string): string {
  const v = bodyField(body, key);
  if (typeof v !== 'string' || v.length === 0 || v.length > 1024) {
    throw new HttpError(400, 'INVALID_REQUEST', `${key}: expected a non-empty string`);
  }
  return v;
}

export function registerAuthRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.post('/api/session', async (req) => {
    const session = deps.auth.redeemLink(stringField(req.body, 'link'));
    if (session === null) {
      throw new HttpError(
        401,
        'LINK_INVALID',
        'this login link was used already or has expired (a link works once, for 5 minutes): ' +
          'run `roost web link` for a new one',
      );
    }
    return { session } satisfies SessionGranted;
  });

  app.post('/api/links', async (req) => {
    const opener = bodyField(req.body, 'opener');
    if (opener !== undefined && typeof opener !== 'boolean') {
      throw new HttpError(400, 'INVALID_REQUEST', 'opener: expected true or false');
    }
    const link = deps.newLink({ opener: opener === true });
    return {
      url: link.url,
      expiresAt: new Date(link.expiresAt).toISOString(),
      opener: link.opener,
    } satisfies LinkCreated;
  });

  app.post('/api/tickets', async (req) => {
    const path = stringField(req.body, 'path');
    const t = deps.auth.newTicket(path);
    if (!t) {
      throw new HttpError(
        400,
        'INVALID_REQUEST',
        `path: no ticket opens '${path}' (only /api/events, /api/hosts/events, /api/vms/NAME/console and /api/vms/NAME/vnc)`,
      );
    }
    return { ticket: t.ticket, expiresAt: new Date(t.expiresAt).toISOString() } satisfies TicketGranted;
  });
}
