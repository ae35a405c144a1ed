// Local transport: the daemon's UNIX socket (socket-path.ts), starting the session daemon on demand (autostart.ts).

import { connectWithAutostart } from './autostart.js';
import { findDaemon, resolveSocket, shouldAutostart } from './socket-path.js';
import type { Transport } from '../rpc/transport.js';
import type { LibvirtUri } from '../uri.js';

export interface UnixDialOptions {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  /** false: never start a daemon; true: also when `?socket=` is given. Default: libvirt's rule (socket-path.ts). */
  autostart?: boolean;
  /** Upper bound for waiting on a daemon being started (default ~5 s: 500 tries, 10 ms apart). */
  timeoutMs?: number;
  /** Dial the system daemon's read-only socket. */
  readonly?: boolean;
  /** Executable to start instead of the installed daemon (tests, unusual installs). */
  daemonPath?: string;
}

export async function dialUnix(uri: LibvirtUri, opts: UnixDialOptions = {}): Promise<Transport> {
  if (uri.transport !== 'unix') throw new TypeError(`dialUnix needs a local URI, got ${uri.raw}`);
  const env = opts.env ?? process.env;
  const target = resolveSocket(uri, { env, uid: opts.uid, readonly: opts.readonly });
  const autostart = shouldAutostart(uri, { env, uid: opts.uid, autostart: opts.autostart });
  const intervalMs = 10;
  return connectWithAutostart(target.path, {
    autostart,
    // The daemon that serves the chosen socket; if it is not installed (libvirt-sock chosen but only
    // virtqemud present, or the reverse) none is started, as in libvirt, and the error names it.
    daemon: autostart ? () => opts.daemonPath ?? findDaemon(target.daemon, env) : undefined,
    daemonName: target.daemon,
    hint: autostart ? undefined : notListeningHint(uri, opts, env),
    env,
    uid: opts.uid,
    intervalMs,
    attempts: opts.timeoutMs === undefined ? 500 : Math.max(1, Math.ceil(opts.timeoutMs / intervalMs)),
  });
}

// Why nobody was started, in the words the user needs (LIBVIRT_AUTOSTART=0 and autostart:false get the
// default text from connectWithAutostart).
function notListeningHint(
  uri: LibvirtUri,
  opts: UnixDialOptions,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (env.LIBVIRT_AUTOSTART === '0' || opts.autostart === false) return undefined;
  if (uri.socket !== undefined) {
    return 'nothing listens at the ?socket= path: start the daemon that owns it, or drop socket= to let roost start your session daemon';
  }
  if (uri.scope === 'system') {
    return "the system daemon is not running: start it as root (e.g. 'libvirtd -d'), or use qemu:///session";
  }
  return "as root, qemu:///session means the system daemon, which is not running: start it (e.g. 'libvirtd -d'), or run roost as a normal user";
}
