// Remote transport: the system OpenSSH client runs a proxy on the far host that joins our stdin/stdout to the
// remote daemon's socket — virt-ssh-helper (libvirt ≥ 6.8, does its own socket choice and session autostart)
// or `nc -U SOCKET`. This mirrors libvirt's virNetClientSSHHelperCommand / virNetSocketNewConnectSSH.
//
// Quoting: ssh joins its remote arguments into one string and the remote *login shell* parses it, whatever
// shell that is. So we send exactly one argument, `sh -c '<script>'`, whose only quoting is one single-quoted
// word that every common shell reads the same way; inside, `<script>` is POSIX sh in which every value taken
// from the URI is itself a single-quoted word. Two layers, both built by shQuote(): no value from a URI can
// end a quote, start a command or expand a variable. Locally ssh is spawned with an argument array: no shell.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Duplex } from 'node:stream';
import { formatName, type LibvirtUri, type SshProxy } from '../uri.js';

export interface SshDialOptions {
  env?: NodeJS.ProcessEnv;
  /** Becomes ssh's ConnectTimeout (whole seconds, rounded up). */
  timeoutMs?: number;
  /** Ask the remote helper for a read-only connection (virt-ssh-helper -r, or the -sock-ro socket). */
  readonly?: boolean;
  /**
   * Let ssh ask for passwords or host-key confirmation on the terminal. Default false (BatchMode=yes): roost
   * is often a library or a web server with no one to answer. `?no_tty=0` in the URI has the same effect.
   */
  interactive?: boolean;
  /** Extra ssh arguments placed before the host, e.g. ['-F', '/dev/null', '-o', 'UserKnownHostsFile=...']. */
  sshOptions?: string[];
}

/** The ssh tunnel could not be started or ended with an error; `stderr` holds what ssh and the remote said. */
export class SshTunnelError extends Error {
  readonly code: string = 'SSH_TUNNEL_FAILED';
  constructor(
    message: string,
    readonly host: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SshTunnelError';
  }
}

/** One POSIX-shell word that reads back as exactly `value`. */
export function shQuote(value: string): string {
  if (value.includes('\0')) throw new TypeError('a shell word cannot contain a NUL byte');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Which proxy runs remotely: ?proxy= if given; netcat for an explicit socket or netcat; else libvirt's default. */
export function proxyFor(uri: LibvirtUri): SshProxy {
  const { proxy, netcat } = uri.params;
  if (proxy) return proxy as SshProxy;
  if (uri.socket !== undefined || netcat !== undefined) return 'netcat';
  // A session socket's path depends on the remote user's environment, which only virt-ssh-helper sees
  // reliably; the system daemon may predate the helper, so fall back to netcat there.
  return uri.scope === 'session' ? 'native' : 'auto';
}

/** The URI virt-ssh-helper gets: the open name plus `mode=`, which the helper applies on its side. */
export function helperUri(uri: LibvirtUri): string {
  if (uri.params.name !== undefined) return uri.params.name;
  const keep = uri.params.mode !== undefined ? [['mode', uri.params.mode] as const] : [];
  return formatName(uri.path, [...keep, ...uri.passthrough]);
}

/** The single remote-command argument for ssh: `sh -c '<script>'`. */
export function remoteCommand(uri: LibvirtUri, opts: { readonly?: boolean } = {}): string {
  const helper = `exec virt-ssh-helper${opts.readonly ? ' -r' : ''} ${shQuote(helperUri(uri))}`;
  let script: string;
  switch (proxyFor(uri)) {
    case 'native':
      script = helper;
      break;
    case 'netcat':
      script = netcatScript(uri, opts.readonly ?? false);
      break;
    case 'auto':
      script = `if command -v virt-ssh-helper >/dev/null 2>&1; then ${helper}; else ${netcatScript(uri, opts.readonly ?? false)}; fi`;
      break;
  }
  return `sh -c ${shQuote(script)}`;
}

// Debian's and SUSE's nc need -q0 to exit when our side closes (or the next connection hangs behind it);
// Fedora's has no -q and already behaves. Ask nc itself, as libvirt does.
function netcatScript(uri: LibvirtUri, readonly: boolean): string {
  const nc = `nc=${shQuote(uri.params.netcat ?? 'nc')}`;
  const probe =
    'if "$nc" -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then q=-q0; else q=; fi; ' +
    'exec "$nc" $q -U "$sock"';
  return `${nc}; ${remoteSocket(uri, readonly)}; ${probe}`;
}

// Sets $sock on the remote side. Unlike libvirt (which guesses from the *local* environment), a session path
// is computed from the remote user's $XDG_RUNTIME_DIR, and mode=auto checks which socket exists over there.
function remoteSocket(uri: LibvirtUri, readonly: boolean): string {
  if (uri.socket !== undefined) return `sock=${shQuote(uri.socket)}`;
  const dir =
    uri.scope === 'session'
      ? 'dir="${XDG_RUNTIME_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}}/libvirt"'
      : 'dir=/var/run/libvirt';
  const suffix = uri.scope === 'system' && readonly ? '-sock-ro' : '-sock';
  const direct = `"$dir/virtqemud${suffix}"`;
  const legacy = `"$dir/libvirt${suffix}"`;
  if (uri.mode === 'direct') return `${dir}; sock=${direct}`;
  if (uri.mode === 'legacy') return `${dir}; sock=${legacy}`;
  return `${dir}; if test -S ${direct}; then sock=${direct}; else sock=${legacy}; fi`;
}

/** The ssh executable and its argument array for `uri`. */
export function sshInvocation(
  uri: LibvirtUri,
  opts: SshDialOptions = {},
): { command: string; args: string[] } {
  return sshCommandFor(uri, remoteCommand(uri, opts), opts);
}

/**
 * ssh's argument array that runs `remote` — one argument, which the remote login shell parses, so it must be
 * a constant of roost's or built with shQuote() — on the host of `uri`, with the URI's port, user, key and
 * the dial options. The tunnel and the one-shot calls of ssh-exec.ts go through here alike.
 */
export function sshCommandFor(
  uri: LibvirtUri,
  remote: string,
  opts: SshDialOptions = {},
): { command: string; args: string[] } {
  // '--' ends ssh's options, so even a hostile host name is only ever a host name.
  const args = [...sshOptionsFor(uri, opts), '--', uri.host ?? 'localhost', remote];
  return { command: uri.params.command ?? 'ssh', args };
}

/**
 * ssh's options for the host of `uri` — port, user, key, BatchMode, host-key checking, ConnectTimeout and the
 * dial options — without the host: every ssh roost runs to that host (the tunnel, the one-shot calls, the
 * forwards and jumps of ssh-forward.ts) is the same login.
 */
export function sshOptionsFor(uri: LibvirtUri, opts: SshDialOptions = {}): string[] {
  if (uri.transport !== 'ssh') throw new TypeError(`sshInvocation needs a qemu+ssh:// URI, got ${uri.raw}`);
  const { keyfile, no_verify, no_tty } = uri.params;
  const batch = no_tty !== undefined ? Number(no_tty) !== 0 : !opts.interactive;
  const args: string[] = [];
  if (uri.port !== undefined) args.push('-p', String(uri.port));
  if (uri.user !== undefined) args.push('-l', uri.user);
  if (keyfile !== undefined) args.push('-i', keyfile);
  // -T: no pty (a pty would mangle the binary stream); -e none: no escape character, for the same reason.
  args.push('-T', '-e', 'none');
  if (batch) args.push('-o', 'BatchMode=yes');
  if (no_verify !== undefined && Number(no_verify) !== 0) args.push('-o', 'StrictHostKeyChecking=no');
  if (opts.timeoutMs !== undefined) {
    args.push('-o', `ConnectTimeout=${Math.max(1, Math.ceil(opts.timeoutMs / 1000))}`);
  }
  args.push(...(opts.sshOptions ?? []));
  return args;
}

/** Starts ssh and returns its stdin/stdout as one byte stream to the remote daemon. */
export async function dialSsh(uri: LibvirtUri, opts: SshDialOptions = {}): Promise<Duplex> {
  const { command, args } = sshInvocation(uri, opts);
  const host = uri.host ?? 'localhost';
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    throw new SshTunnelError(
      `cannot run '${command}' to reach ${host} (${errno ?? String(err)}): install the OpenSSH client ` +
        `(scripts/setup-host.sh) or point ?command= at it`,
      host,
      null,
      null,
      '',
      { cause: err },
    );
  }
  return new ChildProcessStream(child, host);
}

const STDERR_LIMIT = 8192;

// stdin/stdout of the child as one Duplex. End of the child = end of the stream: exit 0 is a clean EOF;
// anything else destroys the stream with an SshTunnelError that quotes the child's stderr.
class ChildProcessStream extends Duplex {
  private stderr = '';

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly host: string,
  ) {
    // Not half-open: when the remote side is gone there is nobody left to write to.
    super({ allowHalfOpen: false });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_LIMIT);
    });
    // EPIPE after ssh died: the 'close' handler below reports the real cause.
    child.stdin.on('error', () => {});
    child.once('close', (code, signal) => this.onChildClose(code, signal));
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A failed write means ssh is gone; leave the callback to 'close', which destroys us with its story.
    this.child.stdin.write(chunk, encoding, (err) => {
      if (!err) callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    callback(error);
  }

  private onChildClose(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.destroyed) return;
    if (code === 0) {
      this.push(null);
      return;
    }
    this.destroy(sshFailure(`ssh tunnel to ${this.host}`, this.host, code, signal, this.stderr));
  }
}

/** ssh's words when the host's key is not the one known_hosts holds for it (or there is none and BatchMode). */
const HOST_KEY_CHANGED = /REMOTE HOST IDENTIFICATION HAS CHANGED/;
const HOST_KEY_UNKNOWN = /Host key verification failed|No (?:ED25519|RSA|ECDSA)? ?host key is known/i;

/** The error for an ssh that ended badly: what ssh said, and what to do about it. */
export function sshFailure(
  what: string,
  host: string,
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
): SshTunnelError {
  const said = stderr.trim();
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  if (HOST_KEY_CHANGED.test(said)) {
    return new SshHostKeyError(
      `${what} refused: the host key of ${host} is not the one in known_hosts (the host was reinstalled, or ` +
        `someone is in the middle) — check the new key's fingerprint with the host's owner; if it is right, ` +
        `remove the old one with ssh-keygen -R HOST (for a port: ssh-keygen -R '[HOST]:PORT') and connect once ` +
        `with ssh to accept it`,
      host,
      code,
      signal,
      said,
    );
  }
  const hint =
    code === 127
      ? ' — the remote host lacks virt-ssh-helper (libvirt) or nc: install libvirt there, or set ?netcat='
      : code === 255 && HOST_KEY_UNKNOWN.test(said)
        ? ` — ${host}'s host key is not in known_hosts: connect once with ssh to check and accept it`
        : code === 255
          ? ' — ssh could not connect or log in (check host, port, user, key; BatchMode forbids password prompts)'
          : '';
  return new SshTunnelError(`${what} ${how}${said ? `: ${said}` : ''}${hint}`, host, code, signal, said);
}

/** ssh refused the host: its key changed since known_hosts recorded it. roost never connects then. */
export class SshHostKeyError extends SshTunnelError {
  override readonly code = 'SSH_HOST_KEY_CHANGED';
  constructor(
    message: string,
    host: string,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
    stderr: string,
  ) {
    super(message, host, exitCode, signal, stderr);
    this.name = 'SshHostKeyError';
  }
}
