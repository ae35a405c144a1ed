// The shapes of roost web's own answers: logging in, links, tickets (docs/api.md), and what `roost web --json`
// and `roost web link --json` print (docs/web.md). No imports: the browser uses it too.

/** `POST /api/session`: a page session secret, sent as `Authorization: Bearer`. */
export interface SessionGranted {
  session: string;
}

/** `POST /api/links`: a one-time login link. */
export interface LinkCreated {
  url: string;
  /** ISO 8601. */
  expiresAt: string;
  /** The private page (0600) that forwards a browser to the link, when one was asked for; else null. */
  opener: string | null;
}

/** `POST /api/tickets`: a single-use ticket for one stream. */
export interface TicketGranted {
  ticket: string;
  /** ISO 8601. */
  expiresAt: string;
}

/** `roost web --json`: one line once the server listens (the token file's path, never the token). */
export interface WebServerInfo {
  url: string;
  origin: string;
  port: number;
  /** The API token's file (null only for a server started without a runtime directory, as tests do). */
  tokenFile: string | null;
  /** The UNIX socket it also serves, or null. */
  unix: string | null;
}

/** `roost web link --json`. */
export interface WebLinkInfo {
  url: string;
  /** ISO 8601. */
  expiresAt: string;
  origin: string;
  port: number;
}
