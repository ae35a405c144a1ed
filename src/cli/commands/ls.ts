// roost ls: every VM on the connection, roost's and hand-made ones alike.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('ls')
    .alias('list')
    .description('list VMs with their state, size and forwarded ports')
    .option(
      '--json',
      'print JSON: an array of {name, uuid, state, accel, cpus, memoryMiB, ports, networks, managedBy, autostart}',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  roost ls\n  roost ls --json | jq -r \'.[] | select(.state=="running") | .name\'',
    )
    .action(async (_opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        // The module loads while the connection opens: the daemon's replies overlap our compiling.
        const [{ listVms }, ctx] = await Promise.all([import('../../vm/list.js'), context()]);
        const vms = await listVms(ctx);
        if (out.json) return out.result(vms, () => '');
        const { renderTable } = await import('../../term/table.js');
        // Names, networks and ports come from domain definitions anyone in the session may have written.
        const { safeForTerminal: safe } = await import('../../term/sanitize.js');
        out.result(vms, () =>
          vms.length === 0
            ? 'no VMs yet — create one: roost create NAME --image PATH (see roost create --help)'
            : renderTable(
                ['NAME', 'STATE', 'CPUS', 'MEMORY', 'NETWORK', 'PORTS', 'AUTOSTART'],
                vms.map((v) => [
                  v.managedBy === 'roost' ? safe(v.name) : `${safe(v.name)}*`,
                  v.state,
                  v.cpus,
                  `${v.memoryMiB}M`,
                  safe(v.networks.join(',')) || '-',
                  safe(v.ports.join(' ')) || '-',
                  v.autostart ? 'login' : '-',
                ]),
              ) + (vms.some((v) => v.managedBy !== 'roost') ? '\n* not created by roost' : ''),
        );
      }),
    );
}
