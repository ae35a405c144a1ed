// roost ssh NAME [-- CMD…]: ssh into a VM by name (user, key and port come from the VM).
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { stdoutStream } from '../stdio.js';
import type { SshCommand } from '../../shared/vms.js';

export function define(program: Command): void {
  program
    .command('ssh')
    .description('ssh into a VM by name, or run a command there (also: plain `ssh NAME.roost`)')
    .argument('<name>', 'VM name')
    .argument('[command...]', 'command to run in the VM (put it after --)')
    .option('--print', 'print the ssh command instead of running it')
    .option(
      '--proxy',
      "join stdin/stdout to the VM's sshd (for ssh's ProxyCommand; roost's ssh config uses it)",
    )
    .addHelpText(
      'after',
      `
Examples:
  roost ssh web
  roost ssh web -- uname -a
  ssh web.roost            # works too: roost keeps ~/.local/share/roost/ssh/config, included from ~/.ssh/config
A VM with a forward to guest port 22 is reached through it; a bridged VM at the address roost ip finds.
A VM of another host (-H lab) is reached through ssh to that host (docs/hosts.md).`,
    )
    .action(async (name, command, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        if (opts.proxy && (command.length > 0 || opts.print)) {
          const { UsageError } = await import('../../errors.js');
          throw new UsageError('PROXY_USAGE', '--proxy takes no command and no --print: ssh runs it');
        }
        const { resolveSshTarget, sshArgs } = await import('../../vm/ssh.js');
        const ctx = await context();
        const target = await resolveSshTarget(ctx, name);
        if (opts.proxy) {
          // The session can last hours: do not hold the libvirt connection (and the daemon) open for it.
          await ctx.close();
          // A VM of another host: ssh -W through that host is the pipe (vm/remote-tunnel.ts).
          if (target.via) {
            process.exitCode = await run(target.via.argv);
            return;
          }
          const { pipeTcp } = await import('../../net/tcp-pipe.js');
          return pipeTcp(target.host, target.port, process.stdin, stdoutStream());
        }
        const args = sshArgs(target, ctx.paths, command);
        if (opts.print)
          return out.result({ argv: ['ssh', ...args] } satisfies SshCommand, () =>
            // Quoted for a POSIX shell: a remote VM's ProxyCommand holds quotes of its own.
            ['ssh', ...args]
              .map((a) => (/[\s'"$`\\]/.test(a) ? `'${a.replaceAll("'", "'\\''")}'` : a))
              .join(' '),
          );
        process.exitCode = await run(['ssh', ...args]);
      }),
    );
}

/** What roost alone may be sent (a supervisor, a timeout) and passes on to ssh. */
const PASSED_ON = ['SIGTERM', 'SIGHUP'] as const;

/**
 * Runs argv on this terminal (no shell); its exit code, 255 when a signal ended it. A SIGTERM or SIGHUP sent to
 * roost is passed on: ssh must not outlive roost, holding its terminal or its pipes (a connection to a guest that
 * went away mid-session can hang for a long time). Ctrl-C reaches both from the terminal.
 */
export async function run(argv: string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  return new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    const passOn = (signal: NodeJS.Signals) => child.kill(signal);
    for (const s of PASSED_ON) process.on(s, passOn);
    const settle = () => {
      for (const s of PASSED_ON) process.off(s, passOn);
    };
    child.on('error', (e) => {
      settle();
      reject(e);
    });
    child.on('exit', (c, signal) => {
      settle();
      resolve(c ?? (signal ? 255 : 1));
    });
  });
}
