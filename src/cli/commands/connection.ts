// roost connection: which libvirt this is (session or system, socket, daemon and QEMU versions) and what this
// connection cannot do — the session connection's limits, spelled out so nobody has to learn them the hard way.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('connection')
    .description('show the libvirt connection: URI, session or system, socket, versions, and its limits')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  roost connection\n  roost --connect qemu:///system connection --json',
    )
    .action(async (_opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { describeConnection } = await import('../../vm/connection.js');
        const info = await describeConnection(await context());
        out.result(info, () => {
          const lines = [
            `URI:          ${info.uri} (${info.scope})`,
            `socket:       ${info.socket ?? 'ssh tunnel'}`,
            `daemon:       libvirt ${info.libvirtVersion} on ${info.hostname}`,
            `hypervisor:   QEMU ${info.qemuVersion}`,
            `runs as:      ${info.scope === 'session' ? 'you: VMs are your processes; disks and logs live in your home' : 'root: needs root or the libvirt group'}`,
          ];
          if (info.limits.length) {
            lines.push('cannot do:');
            for (const l of info.limits) lines.push(`  - ${l}`);
          }
          return lines.join('\n');
        });
      }),
    );
}
