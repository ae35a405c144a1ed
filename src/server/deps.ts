// What the server's parts are built from: app.ts assembles the routes with these, index.ts provides them. Its
// own module, so that routes/ and app.ts both import it and neither imports the other.
import type { VmContext } from '../vm/context.js';
import type { EventHub } from './event-hub.js';
import type { HostFeeds } from './host-feeds.js';
import type { LoginLink, WebAuth } from './security.js';

export interface AppDeps {
  context: () => Promise<VmContext>;
  hub: EventHub;
  /** The hosts of the user's list, followed while someone listens (the All hosts view). */
  hostFeeds: HostFeeds;
  /** The libvirt URI, for messages (doctor). */
  uri?: string;
  /** The built page (dist/web); null serves a note saying how to build it. */
  staticDir: string | null;
  /** The server's credentials: login links, page sessions, tickets, the API token. */
  auth: WebAuth;
  /** A new login link, with its URL (and, when asked for, a 0600 file that redirects to it, for a browser). */
  newLink(opts: { opener: boolean }): LoginLink & { url: string; opener: string | null };
}
