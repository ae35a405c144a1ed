// One-shot ssh calls to the host of a qemu+ssh:// URI, beside the tunnel: the same ssh options (port, user,
// key, BatchMode, ConnectTimeout), a remote command that is a constant of roost's, its output collected.
//
// What the remote side is asked here is what libvirt cannot tell: the remote user's home and XDG directories,
// which roost's files there (VNC sockets, the pool directory) are named after. The script below takes no input
// at all — every path in it is the remote shell's own $HOME and $XDG_* — so nothing from a URI, a host list or
// a VM name reaches a shell.
import { spawn } from 'node:child_process';
import type { LibvirtUri } from '../uri.js';
import { shQuote, sshCommandFor, sshFailure, SshTunnelError, type SshDialOptions } from './ssh.js';

const OUTPUT_LIMIT = 64 * 1024;

/** Runs `remote` (a constant command line of roost's) over ssh on the host of `uri`; its stdout. */
export function sshExec(uri: LibvirtUri, remote: string, opts: SshDialOptions = {}): Promise<string> {
  const { command, args } = sshCommandFor(uri, remote, opts);
  const host = uri.host ?? 'localhost';
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString('utf8')).slice(0, OUTPUT_LIMIT)));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-OUTPUT_LIMIT)));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new SshTunnelError(
          `cannot run '${command}' to reach ${host} (${e.code ?? String(e)}): install the OpenSSH client`,
          host,
          null,
          null,
          '',
          { cause: e },
        ),
      ),
    );
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(sshFailure(`ssh to ${host}`, host, code, signal, err));
    });
  });
}

/** The remote user's directories roost places files under, as the remote login environment names them. */
export interface RemoteDirs {
  home: string;
  /** $XDG_RUNTIME_DIR, or '' when the remote login has none (no pam_systemd, e.g.). */
  runtime: string;
  /** roost's data directory there ($XDG_DATA_HOME/roost): the pool directory is made under it. */
  data: string;
  /** Where roost's VNC sockets go there: $XDG_RUNTIME_DIR/roost, else $XDG_CACHE_HOME/roost/run. */
  sockets: string;
}

// roost's sockets dir on the remote side, as $sockets: the remote user's own variables, nothing else.
const SOCKETS_DIR =
  'if [ -n "${XDG_RUNTIME_DIR:-}" ]; then sockets="$XDG_RUNTIME_DIR/roost"; ' +
  'else sockets="${XDG_CACHE_HOME:-$HOME/.cache}/roost/run"; fi';

// The listening sockets of the remote host (TCP in LISTEN, UDP unbound-unconnected), for the check that a
// forwarded port is free there: only those lines (a busy host has many more connections than fit the output
// limit), else the whole files where there is no awk. The caller parses them (net/port-check.ts).
const LISTENERS =
  '{ awk \'$4 == "0A"\' /proc/net/tcp /proc/net/tcp6 2>/dev/null || cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; }; ' +
  'printf "\\0"; ' +
  '{ awk \'$4 == "07"\' /proc/net/udp /proc/net/udp6 2>/dev/null || cat /proc/net/udp /proc/net/udp6 2>/dev/null; }';

// Creates the directories (0700) and prints them NUL-separated, then the listeners (the same call: no second
// round trip before a create). A constant: no value from outside is in it.
const PROBE_SCRIPT = [
  'umask 077',
  'data="${XDG_DATA_HOME:-$HOME/.local/share}/roost"',
  SOCKETS_DIR,
  'mkdir -p -- "$data" "$sockets" || exit 3',
  'printf "%s\\0" "$HOME" "${XDG_RUNTIME_DIR:-}" "$data" "$sockets"',
  LISTENERS,
].join('; ');

export const REMOTE_DIRS_COMMAND = `sh -c ${shQuote(PROBE_SCRIPT)}`;

/** What one probe of the remote host tells: its user's directories, and /proc/net's listening lines now. */
export interface RemoteProbe {
  dirs: RemoteDirs;
  /** Lines of /proc/net/tcp{,6} and /proc/net/udp{,6}, as the remote host printed them. */
  listeners: { tcp: string; udp: string };
}

/** Asks the host of `uri` for the remote user's directories (creating roost's) and its listening sockets. */
export async function probeRemote(uri: LibvirtUri, opts: SshDialOptions = {}): Promise<RemoteProbe> {
  return parseProbe(await sshExec(uri, REMOTE_DIRS_COMMAND, opts), uri.host ?? 'localhost');
}

/** REMOTE_DIRS_COMMAND's output: four directories, then the TCP and the UDP listening lines, NUL-separated. */
export function parseProbe(out: string, host: string): RemoteProbe {
  const fields = out.split('\0');
  return { dirs: parseRemoteDirs(out, host), listeners: { tcp: fields[4] ?? '', udp: fields[5] ?? '' } };
}

/** The remote user's directories alone (the caller caches them per connection). */
export async function remoteDirs(uri: LibvirtUri, opts: SshDialOptions = {}): Promise<RemoteDirs> {
  return (await probeRemote(uri, opts)).dirs;
}

export function parseRemoteDirs(out: string, host: string): RemoteDirs {
  const [home, runtime, data, sockets] = out.split('\0');
  const absolute = (p: string | undefined) => p !== undefined && p.startsWith('/') && !p.includes('\n');
  if (!absolute(home) || !absolute(data) || !absolute(sockets) || runtime === undefined) {
    throw new SshTunnelError(
      `${host} did not tell its user's home and directories (got ${JSON.stringify(out.slice(0, 200))}): ` +
        `its login shell must be a POSIX sh and $HOME set`,
      host,
      0,
      null,
      '',
    );
  }
  return { home: home!, runtime, data: data!, sockets: sockets! };
}

/**
 * Removes VM `name`'s VNC socket from roost's sockets dir on the remote host (QEMU leaves it behind, and a
 * socket is no volume libvirt could delete). The name is the script's $1: one shQuote()d word, never code.
 */
export async function removeRemoteVncSocket(
  uri: LibvirtUri,
  name: string,
  opts: SshDialOptions = {},
): Promise<void> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return;
  const script = `${SOCKETS_DIR}; rm -f -- "$sockets/$1.vnc"`;
  await sshExec(uri, `sh -c ${shQuote(script)} roost ${shQuote(name)}`, opts);
}
