// Running OpenSSH's scp for roost cp: its argument array (never a shell string) and its exit read into roost's
// errors. SFTP mode (`scp -s`): the guest's sftp-server takes the paths, so no remote shell ever reads one.
import { spawn } from 'node:child_process';
import { RoostError } from '../errors.js';
import { ipVersion } from '../ip-literal.js';
import type { RoostPaths } from '../paths.js';
import type { CopyPlan } from './copy.js';
import { sshIdentityOptions, type SshTarget } from './ssh.js';

/**
 * A remote source as scp's SFTP mode reads it literally: scp expands `*`, `?` and `[…]` in remote sources itself
 * (a backslash escapes them, and itself). A destination is never expanded and is passed as it is.
 */
export function literalRemoteSource(path: string): string {
  return path.replace(/[\\*?[]/g, '\\$&');
}

/** `HOST:PATH` for scp, an IPv6 host in brackets; the user goes in `-o User=` so no '@' is parsed. */
export function remoteOperand(host: string, path: string): string {
  return `${ipVersion(host) === 6 ? `[${host}]` : host}:${path}`;
}

/**
 * The scp(1) argument array for a plan; never a shell string. SFTP mode (-s) so that no shell in the guest reads
 * a path; `--` before the operands, and every local operand is absolute, so none can be read as an option or as
 * HOST:PATH.
 */
export function scpArgs(
  target: SshTarget,
  paths: RoostPaths,
  plan: CopyPlan,
  opts: { quiet?: boolean } = {},
): string[] {
  const args = ['-s', '-P', String(target.port), ...sshIdentityOptions(target, paths)];
  args.push('-o', `User=${target.user}`);
  if (plan.recursive) args.push('-r');
  if (plan.preserve) args.push('-p');
  if (opts.quiet) args.push('-q');
  args.push('--');
  if (plan.direction === 'to-guest') {
    args.push(...plan.sources, remoteOperand(target.host, plan.destination));
  } else {
    args.push(
      ...plan.sources.map((s) => remoteOperand(target.host, literalRemoteSource(s))),
      plan.destination,
    );
  }
  return args;
}

/** Most of scp's error text kept for the message; it prints little, but a guest names the files. */
const MAX_SCP_STDERR = 16 * 1024;

/**
 * Runs scp with its progress meter on the terminal (it draws one when stdout is a TTY), its errors collected for
 * roost's own message. Fails with COPY_FAILED and scp's words when it exits non-zero.
 */
export async function runScp(args: string[], quiet: boolean): Promise<void> {
  let stderr = '';
  const code = await new Promise<number>((resolveExit, reject) => {
    const child = spawn('scp', args, { stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'pipe'] });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (stderr.length < MAX_SCP_STDERR) stderr += chunk;
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new RoostError('SCP_MISSING', 'scp is not installed on this host', {
              hint: 'install OpenSSH’s client: sudo apt install openssh-client',
            })
          : e,
      ),
    );
    child.on('close', (c, signal) => resolveExit(c ?? (signal ? 128 : 1)));
  });
  if (code === 0) return;
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  throw new RoostError('COPY_FAILED', `copying failed: ${lines.at(-1) ?? `scp exited with ${code}`}`, {
    hint: hintFor(lines.join('\n')),
    detail: lines.length > 1 ? lines.slice(0, -1).join('\n') : undefined,
  });
}

function hintFor(text: string): string | undefined {
  if (/Connection refused|Connection closed|timed out/i.test(text))
    return 'is its sshd up yet? roost start NAME --wait ssh waits for a login';
  if (/subsystem request failed/i.test(text))
    return 'the guest has no sftp-server: install it there (Debian: apt install openssh-sftp-server)';
  if (/Permission denied \(publickey/i.test(text))
    return 'the guest refused roost’s key: check the VM’s user and key with roost info NAME';
  if (/Host key verification failed/i.test(text))
    return 'the guest’s host key changed since roost first saw it; if the VM was re-made, roost forgets the old key';
  return undefined;
}
