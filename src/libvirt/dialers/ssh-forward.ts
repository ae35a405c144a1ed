// Reaching a TCP port of the remote host from here — its 127.0.0.1, where passt listens for a remote VM's
// forwards — through ssh to that host, with the same login as the libvirt tunnel (ssh.ts sshOptionsFor: port,
// user, key, BatchMode, known_hosts):
//   - sshJumpCommand: `ssh … -W ADDR:PORT -- HOST`, its stdin/stdout joined to that port: the ProxyCommand of
//     an ssh or scp to the guest, and what `roost ssh --proxy` runs;
//   - openSshForward: `ssh … -L 127.0.0.1:LOCAL:ADDR:PORT -- HOST` in the background, for a wait that probes a
//     port over and over: one login for all its probes. Its remote command is `cat`, reading our stdin: when
//     this process ends however it ends (even killed), the pipe closes, cat ends and so does ssh.
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import type { LibvirtUri } from '../uri.js';
import { sshFailure, sshOptionsFor, SshTunnelError, type SshDialOptions } from './ssh.js';

/** A TCP endpoint as the remote host sees it: an IP literal (never a name ssh could read as an option). */
export interface RemoteEndpoint {
  host: string;
  port: number;
}

function endpointText(to: RemoteEndpoint): string {
  if (!/^[0-9A-Fa-f.:]+$/.test(to.host) || !Number.isInteger(to.port) || to.port < 1 || to.port > 65535) {
    throw new TypeError(`not an IP address and port: ${to.host}:${to.port}`);
  }
  return `${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`;
}

/** ssh's argv that joins its stdin/stdout to `to` on the host of `uri` (ssh -W). */
export function sshJumpCommand(uri: LibvirtUri, to: RemoteEndpoint, opts: SshDialOptions = {}): string[] {
  const target = endpointText(to);
  return [
    uri.params.command ?? 'ssh',
    ...sshOptionsFor(uri, opts),
    '-W',
    target,
    '--',
    uri.host ?? 'localhost',
  ];
}

/** A forward of a local port to the remote host; close() ends its ssh. */
export interface SshForward {
  /** The port on this host's 127.0.0.1 that leads to the remote endpoint. */
  port: number;
  close(): void;
}

/** How long a forward may take to listen beyond ssh's own ConnectTimeout (the login itself). */
const OPEN_GRACE_MS = 10_000;

/**
 * Forwards a free port of this host's 127.0.0.1 to `to` on the host of `uri`; resolves once it listens. Fails
 * with ssh's own words (sshFailure: a refused host key, a login that failed) when ssh ends first.
 */
export async function openSshForward(
  uri: LibvirtUri,
  to: RemoteEndpoint,
  opts: SshDialOptions = {},
): Promise<SshForward> {
  for (let attempt = 1; ; attempt++) {
    const local = await freeLocalPort();
    try {
      return await startForward(uri, to, local, opts);
    } catch (e) {
      // The port was taken between our look and ssh's bind: another free one.
      const raced = e instanceof SshTunnelError && /in use|cannot listen/i.test(e.stderr);
      if (!raced || attempt >= 3) throw e;
    }
  }
}

async function startForward(
  uri: LibvirtUri,
  to: RemoteEndpoint,
  local: number,
  opts: SshDialOptions,
): Promise<SshForward> {
  const host = uri.host ?? 'localhost';
  const command = uri.params.command ?? 'ssh';
  const forward = `127.0.0.1:${local}:${endpointText(to)}`;
  const args = [...sshOptionsFor(uri, opts), '-o', 'ExitOnForwardFailure=yes', '-L', forward];
  args.push('--', host, 'cat');
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'], env: opts.env ?? process.env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-8192)));
  child.stdin.on('error', () => {}); // ssh gone: its 'close' tells why
  const close = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  const ended = new Promise<SshTunnelError>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) =>
      resolve(
        new SshTunnelError(
          `cannot run '${command}' to reach ${host} (${e.code ?? String(e)})`,
          host,
          null,
          null,
          '',
          {
            cause: e,
          },
        ),
      ),
    );
    child.once('close', (code, signal) =>
      resolve(sshFailure(`ssh forward to ${host}`, host, code, signal, stderr)),
    );
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000) + OPEN_GRACE_MS;
  process.once('exit', close);
  for (;;) {
    const up = await Promise.race([listens(local), ended]);
    if (up === true) break;
    if (up instanceof SshTunnelError) throw up;
    if (Date.now() > deadline) {
      close();
      throw new SshTunnelError(`the ssh forward to ${host} did not open in time`, host, null, null, stderr);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: local,
    close: () => {
      process.off('exit', close);
      close();
    },
  };
}

/** Whether something accepts on 127.0.0.1:port now. */
function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A port of 127.0.0.1 nobody listens on now (the kernel's pick). */
function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
