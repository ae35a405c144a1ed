// `roost web`'s server: createServer() starts it and returns what the caller needs (the URL to print, a way
// to stop it). Interface first; the parts are in app.ts (the gate and routes), security.ts (Host, Origin,
// token), event-hub.ts (one libvirt event registration fanned out) and routes/.
//
//   const server = await createServer({ port: 0, runtimeDir: runtimeDir() });
//   console.log(server.url);            // http://127.0.0.1:41234/#login=…  (works once, for 5 minutes)
//   server.tokenFile;                   // …/roost/web-41234.token: `curl -H @FILE …/api/vms`
//   await server.close();               // ends every stream and console, removes the files
import { existsSync, chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { RoostError, UsageError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { openContext, type VmContext } from '../vm/context.js';
import { buildApp } from './app.js';
import { createEventHub, type EventHub } from './event-hub.js';
import { createHostFeeds, type HostFeeds } from './host-feeds.js';
import { removeFile, writeOpenerPage, writeServerFiles } from './runtime-files.js';
import { isLoopbackAddress, WebAuth, type LoginLink } from './security.js';

export interface WebServerOptions {
  /** libvirt URI (default: $ROOST_CONNECT, $LIBVIRT_DEFAULT_URI, qemu:///session). */
  uri?: string;
  env?: NodeJS.ProcessEnv;
  /** Address to listen on; default 127.0.0.1. Anything but loopback exposes the console to the network. */
  listen?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Also serve the API on this UNIX socket (mode 0600; no token: the file mode decides who connects). */
  unixPath?: string;
  /** The built page; default dist/web beside this module; null: none. */
  staticDir?: string | null;
  /** For tests: a fixed API token instead of a random one. */
  token?: string;
  /** How long a login link works (default 5 minutes; tests shorten it to see one expire). */
  linkTtlMs?: number;
  /**
   * roost's private runtime directory (runtime-files.ts): the API token file, the record `roost web link` finds
   * the server by, and `--open`'s redirect pages go there. Without it, no file is written and no opener made.
   */
  runtimeDir?: string;
}

export interface NewLink extends LoginLink {
  url: string;
  /** A 0600 file that redirects to the link, for a browser's argv; removed once the link is used or expired. */
  opener: string | null;
}

export interface WebServer {
  /** The first one-time login link: http://HOST:PORT/#login=SECRET. */
  readonly url: string;
  /** The first link itself (its opener, when asked for, from newLink). */
  readonly link: NewLink;
  /** http://HOST:PORT. */
  readonly origin: string;
  readonly port: number;
  /** The API token (for scripts; never printed). */
  readonly token: string;
  /** The file holding the token as a curl header line; null without a runtimeDir. */
  readonly tokenFile: string | null;
  readonly unixPath: string | null;
  readonly events: EventHub;
  /** Another one-time login link (with an opener page when asked for and there is a runtimeDir). */
  newLink(opts?: { opener?: boolean }): NewLink;
  /** Ends every stream and console, stops listening, removes the runtime files. */
  close(): Promise<void>;
}

/** The built page, dist/web of roost's package, wherever this code runs from (src/, dist/, the bundled CLI). */
export function defaultStaticDir(): string | null {
  const root = packageRoot();
  const dir = root ? join(root, 'dist', 'web') : null;
  return dir && existsSync(join(dir, 'index.html')) ? dir : null;
}

export async function createServer(opts: WebServerOptions = {}): Promise<WebServer> {
  const listen = opts.listen ?? '127.0.0.1';
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('INVALID_PORT', `invalid port '${port}': expected 0 to 65535`);
  }
  const { context, closeContext } = sharedContext(opts);
  const hub = createEventHub({ context, onFeedError: reportFeedError });
  const auth = new WebAuth({ apiToken: opts.token, linkTtlMs: opts.linkTtlMs });
  // The origin is known after listen; links are only made after that.
  let origin = '';
  const openers = new Set<string>();
  const newLink = linkMaker(auth, opts.runtimeDir, () => origin, openers);
  const deps = {
    context,
    hub,
    hostFeeds: listedHostFeeds(opts.env ?? process.env),
    uri: opts.uri,
    staticDir: opts.staticDir === undefined ? defaultStaticDir() : opts.staticDir,
    auth,
    newLink: (o: { opener: boolean }) => newLink(o),
  };
  const apps: FastifyInstance[] = [];
  let removeFiles = () => {};
  const cleanup = async () => {
    auth.close(); // settles pending links: their opener pages go
    removeFiles();
    for (const file of openers) removeFile(file);
    await Promise.all(apps.map((a) => a.close().catch(() => {})));
    await Promise.all([hub.close(), deps.hostFeeds.close()]);
    await closeContext();
  };
  try {
    // The TCP app is built first with a placeholder port: the Host check needs the real one, known after
    // listen; policy objects are read per request, so it is filled in below.
    const hostPolicy = { port: port as number | null, listen };
    const tcp = await buildApp(deps, { host: hostPolicy, requireAuth: true });
    apps.push(tcp);
    await tcp.listen({ host: listen, port });
    const addr = tcp.server.address();
    if (!addr || typeof addr === 'string')
      throw new RoostError('LISTEN_FAILED', 'no TCP address after listen');
    hostPolicy.port = addr.port;

    const unixPath = opts.unixPath ? await serveUnix(deps, opts.unixPath, apps) : null;
    origin = originOf(listen, addr.port);
    let tokenFile: string | null = null;
    if (opts.runtimeDir) {
      const files = writeServerFiles(opts.runtimeDir, {
        port: addr.port,
        origin,
        token: auth.apiToken,
        unix: unixPath,
      });
      tokenFile = files.tokenFile;
      removeFiles = () => files.remove();
    }
    const first = newLink();
    return {
      url: first.url,
      link: first,
      origin,
      port: addr.port,
      token: auth.apiToken,
      tokenFile,
      unixPath,
      events: hub,
      newLink,
      async close() {
        await cleanup();
        if (unixPath) rmSocket(unixPath);
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** One connection for the server's life; the client redials by itself after the daemon went away. */
function sharedContext(opts: WebServerOptions): {
  context: () => Promise<VmContext>;
  closeContext: () => Promise<void>;
} {
  let ctx: Promise<VmContext> | null = null;
  // What a page's first load needs (the list), loaded while the user opens the link rather than when it asks.
  void Promise.all([import('../vm/list.js'), import('../vm/list-rows.js')]).catch(() => {});
  const context = () => {
    ctx ??= openContext({ uri: opts.uri, env: opts.env }).catch((e: unknown) => {
      ctx = null;
      throw e;
    });
    return ctx;
  };
  const closeContext = async () => {
    if (ctx) await ctx.then((c) => c.close()).catch(() => {});
  };
  return { context, closeContext };
}

function reportFeedError(err: unknown): void {
  process.stderr.write(`roost web: event feed: ${(err as Error).message}\n`);
}

/** The All hosts view's feeds: the user's own hosts.yaml, each host dialled as `roost ls --all-hosts` dials it. */
function listedHostFeeds(env: NodeJS.ProcessEnv): HostFeeds {
  return createHostFeeds({
    hosts: async () => {
      const [{ readHosts }, { roostPaths }] = await Promise.all([
        import('../vm/remote-hosts.js'),
        import('../paths.js'),
      ]);
      return readHosts(roostPaths(env));
    },
    open: async (host) => {
      const { ALL_HOSTS_TIMEOUT_MS } = await import('../vm/remote-list.js');
      return openContext({
        uri: host.uri,
        env,
        timeoutMs: ALL_HOSTS_TIMEOUT_MS,
        callTimeoutMs: ALL_HOSTS_TIMEOUT_MS,
      });
    },
  });
}

/**
 * Makes one-time login links on `origin()`; with `opener`, also a page in the runtime directory that opens it
 * (removed, and dropped from `openers`, once the link is used or expires).
 */
function linkMaker(
  auth: WebAuth,
  runtimeDir: string | undefined,
  origin: () => string,
  openers: Set<string>,
): (o?: { opener?: boolean }) => NewLink {
  return ({ opener = false } = {}) => {
    const link = auth.newLink();
    const url = `${origin()}/#login=${link.secret}`;
    const file = opener && runtimeDir ? writeOpenerPage(runtimeDir, url) : null;
    if (file) {
      openers.add(file);
      void link.settled.then(() => {
        openers.delete(file);
        removeFile(file);
      });
    }
    return { ...link, url, opener: file };
  };
}

/** The URL origin a browser on this host uses for a server listening on `listen` (any address: loopback). */
function originOf(listen: string, port: number): string {
  const hostPart = listen.includes(':') ? `[${listen}]` : listen === '0.0.0.0' ? '127.0.0.1' : listen;
  return `http://${hostPart === '::' || hostPart === '[::]' ? '[::1]' : hostPart}:${port}`;
}

/** The API on a UNIX socket as well: no token (the socket's mode guards it), added to `apps` for the clean-up. */
async function serveUnix(
  deps: Parameters<typeof buildApp>[0],
  path: string,
  apps: FastifyInstance[],
): Promise<string> {
  const unix = await buildApp(deps, { host: { port: null, listen: '127.0.0.1' }, requireAuth: false });
  apps.push(unix);
  await listenUnix(unix, path);
  return path;
}

/** True when `listen` keeps the server on this machine. */
export function isLocalOnly(listen: string): boolean {
  return isLoopbackAddress(listen) || listen === 'localhost';
}

async function listenUnix(app: FastifyInstance, path: string): Promise<void> {
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) {
      throw new UsageError('UNIX_PATH_TAKEN', `${path} exists and is not a socket; it was left alone`);
    }
    if (await answers(path)) {
      throw new UsageError('UNIX_PATH_IN_USE', `another server is listening on ${path}`, {
        hint: 'stop it, or give another --unix path',
      });
    }
    unlinkSync(path); // a stale socket of a server that died
  }
  await app.ready();
  // The socket is created 0600 (umask set around the synchronous bind), so no other user can connect even for
  // the moment before a chmod.
  await new Promise<void>((resolve, reject) => {
    const old = process.umask(0o177);
    try {
      app.server.once('error', reject);
      app.server.listen(path, () => {
        app.server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
  chmodSync(path, 0o600);
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function rmSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // gone already
  }
}
