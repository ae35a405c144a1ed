// connect(uri): the one call a user of the library makes. Parses the URI, dials the socket (starting the
// session daemon when libvirt's own client would), and runs the handshake. The same dial is kept as the
// client's way to reconnect, so a call made after the daemon went away (it exits 120 s after its last client
// when no VM runs) starts a new one instead of failing.
import { openClient, type LibvirtClient, type OpenClientOptions } from './api.js';
import { dial, type DialOptions } from './dialers/index.js';
import { defaultUri, parseUri, type LibvirtUri } from './uri.js';

/** Per-call timeout on ssh URIs when none is given: a remote daemon can hang, a local one is restarted. */
export const SSH_CALL_TIMEOUT_MS = 120_000;

export interface ConnectOptions extends Pick<OpenClientOptions, 'keepalive'> {
  /** Open the connection read-only. */
  readOnly?: boolean;
  /** Start a session daemon when none answers (default: as libvirt decides — session scope, local, non-root). */
  autostart?: boolean;
  /** Environment used for socket paths and the daemon (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Give up dialling after this long (ms). */
  timeoutMs?: number;
  /**
   * Fail a call whose reply takes longer than this (ms) with CallTimeoutError; 0 = no limit. Default: no limit
   * on a local socket, SSH_CALL_TIMEOUT_MS over ssh. Streams and event subscriptions have no limit.
   */
  callTimeoutMs?: number;
}

/** The per-call timeout a connection to `target` gets: the caller's, else SSH_CALL_TIMEOUT_MS over ssh, else none. */
export function callTimeoutFor(target: LibvirtUri, opts: Pick<ConnectOptions, 'callTimeoutMs'>): number {
  return opts.callTimeoutMs ?? (target.transport === 'ssh' ? SSH_CALL_TIMEOUT_MS : 0);
}

/** Opens a connection to libvirt; `uri` defaults to $ROOST_CONNECT, $LIBVIRT_DEFAULT_URI, then qemu:///session. */
export async function connect(uri?: string, opts: ConnectOptions = {}): Promise<LibvirtClient> {
  const env = opts.env ?? process.env;
  const target = parseUri(uri ?? defaultUri(env));
  const dialOpts: DialOptions = {
    env,
    readonly: opts.readOnly,
    autostart: opts.autostart,
    timeoutMs: opts.timeoutMs,
  };
  const transport = await dial(target, dialOpts);
  return openClient(transport, target.openName, {
    readOnly: opts.readOnly,
    keepalive: opts.keepalive,
    reconnect: () => dial(target, dialOpts),
    callTimeoutMs: callTimeoutFor(target, opts),
  });
}
