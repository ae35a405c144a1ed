// A remote VM's forwards listen on its host (passt runs there), on that host's addresses: from here they are
// reached through ssh to that host, with the login of the connection's URI (libvirt/dialers/ssh-forward.ts):
//   - `roost ssh`, `roost cp` and the ssh wait reach the guest's sshd with ssh -W to the forward as ProxyCommand
//     (a bridged remote VM's address is one the remote host reaches: the same jump gets there);
//   - `--wait port:N` probes the forward through an ssh -L forward of a free local port, for the wait's length.
// The guest's host key is remembered under an alias that names the remote host too: a VM `web` there is not
// this host's `web`, nor another host's.
import { parseUri } from '../libvirt/uri.js';
import type { RemoteEndpoint, SshForward } from '../libvirt/dialers/ssh-forward.js';
import { dialAddress } from '../net/port-spec.js';
import type { PortRow } from '../shared/api-types.js';
import type { VmContext } from './context.js';
import type { SshTarget } from './ssh.js';

/** The ssh host-key alias of VM `name` of the connection's remote host: NAME.USER-HOST-PORT.roost. */
export function remoteSshAlias(ctx: Pick<VmContext, 'uri'>, name: string): string {
  const u = parseUri(ctx.uri);
  const where = `${u.user ? `${u.user}-` : ''}${u.host ?? 'localhost'}${u.port ? `-${u.port}` : ''}`;
  // Only what a known_hosts host field holds as itself: no ',', space, '[', ']', ':' or '*'.
  return `${name}.${where.replace(/[^A-Za-z0-9._-]/g, '-')}.roost`;
}

/** The target as reached from here: the same address and port, seen from the remote host through ssh -W. */
export async function throughRemoteHost(
  ctx: Pick<VmContext, 'uri' | 'env'>,
  name: string,
  target: SshTarget,
): Promise<SshTarget> {
  const [{ sshJumpCommand }, { proxyCommandText }] = await Promise.all([
    import('../libvirt/dialers/ssh-forward.js'),
    import('../net/ssh-config.js'),
  ]);
  const argv = sshJumpCommand(parseUri(ctx.uri), target, { env: ctx.env, timeoutMs: 20_000 });
  return { ...target, alias: remoteSshAlias(ctx, name), via: { argv, proxyCommand: proxyCommandText(argv) } };
}

/**
 * Runs `use` with a port of this host's 127.0.0.1 that leads to `to` on the remote host, and closes the forward
 * after it, whatever it did.
 */
export async function withRemoteForward<T>(
  ctx: Pick<VmContext, 'uri' | 'env'>,
  to: RemoteEndpoint,
  use: (localPort: number) => Promise<T>,
): Promise<T> {
  const { openSshForward } = await import('../libvirt/dialers/ssh-forward.js');
  const forward = await openSshForward(parseUri(ctx.uri), to, { env: ctx.env, timeoutMs: 20_000 });
  try {
    return await use(forward.port);
  } finally {
    forward.close();
  }
}

/**
 * For a wait that tries a target again and again: a target of this host as it is; a remote VM's (`via` set)
 * through one ssh forward of a local port, opened at the first try and reused while the target stays the same.
 */
export class TargetForward {
  private open?: { key: string; forward: SshForward };

  constructor(private readonly ctx: Pick<VmContext, 'uri' | 'env'>) {}

  async to(target: SshTarget): Promise<SshTarget> {
    if (!target.via) return target;
    const key = `${target.host}:${target.port}`;
    if (this.open?.key !== key) {
      this.close();
      const { openSshForward } = await import('../libvirt/dialers/ssh-forward.js');
      const forward = await openSshForward(parseUri(this.ctx.uri), target, {
        env: this.ctx.env,
        timeoutMs: 20_000,
      });
      this.open = { key, forward };
    }
    // The alias stays: the guest's host key is checked as the remote VM's, whatever local port leads there.
    return { ...target, host: '127.0.0.1', port: this.open.forward.port, via: undefined };
  }

  close(): void {
    this.open?.forward.close();
    this.open = undefined;
  }
}

/**
 * For `roost port ls` of a VM of another host: the ssh command that makes each TCP forward (listening there)
 * reachable on the same port of this host's 127.0.0.1 — the URI's login, printable (a value with a space or a
 * quote is quoted for a POSIX shell).
 */
export function forwardCommands(
  ctx: Pick<VmContext, 'uri'>,
  rows: readonly Pick<PortRow, 'proto' | 'address' | 'host' | 'state'>[],
): string[] {
  return rows.map((r) => forwardCommand(ctx, r)).filter((c) => c !== null);
}

/** One row's command (forwardCommands), or null for a row ssh -L does not bring here. */
export function forwardCommand(
  ctx: Pick<VmContext, 'uri'>,
  r: Pick<PortRow, 'proto' | 'address' | 'host' | 'state'>,
): string | null {
  if (r.proto !== 'tcp' || r.state === 'removed-at-next-start' || r.state === 'auto') return null;
  const u = parseUri(ctx.uri);
  const q = (a: string) => (/^[A-Za-z0-9@%+=:,./_-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);
  const login = [
    ...(u.port ? ['-p', String(u.port)] : []),
    ...(u.params.keyfile ? ['-i', u.params.keyfile] : []),
    `${u.user ? `${u.user}@` : ''}${u.host ?? 'localhost'}`,
  ];
  const port = r.host.split('-')[0]!;
  const to = dialAddress(r);
  const remote = to.includes(':') ? `[${to}]` : to;
  return ['ssh', '-N', '-L', `${port}:${remote}:${port}`, ...login].map(q).join(' ');
}
