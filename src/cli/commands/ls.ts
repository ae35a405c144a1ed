// roost ls: every VM on the connection, roost's and hand-made ones alike.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import type { GlobalOptions, Output } from '../output.js';

export function define(program: Command): void {
  program
    .command('ls')
    .alias('list')
    .description('list VMs with their state, size and forwarded ports')
    .option(
      '--json',
      'print JSON: an array of {name, uuid, state, accel, cpus, memoryMiB, ports, networks, managedBy, autostart}',
    )
    .option(
      '--all-hosts',
      'this host and every host of the list (roost hosts), asked at once; --json: an array of {host, uri, vms, error}',
    )
    .option('--timeout <seconds>', 'with --all-hosts: how long to wait for each host', '15')
    .addHelpText(
      'after',
      '\nExamples:\n  roost ls\n  roost ls --json | jq -r \'.[] | select(.state=="running") | .name\'' +
        '\n  roost ls --all-hosts          # a HOST column; a host that does not answer is listed with why' +
        '\n\nWith --all-hosts the exit code is 0 when every host answered, 1 when one did not (the others are listed).',
    )
    .action(async (opts, cmd) =>
      runAction(cmd, async ({ out, context, globals }) => {
        if (opts.allHosts) return listAllHostsCommand(out, globals, opts.timeout);
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

/** roost ls --all-hosts: one table with a HOST column, a line per host that did not answer; exit 1 if any. */
async function listAllHostsCommand(out: Output, globals: GlobalOptions, timeout: string): Promise<void> {
  const { UsageError } = await import('../../errors.js');
  const seconds = Number(timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError('USAGE', `--timeout ${timeout}: give a number of seconds, e.g. --timeout 10`);
  }
  if (globals.connect !== undefined) {
    throw new UsageError('CONFLICTING_OPTIONS', '--all-hosts asks every host: leave out --connect and -H');
  }
  const [{ listAllHosts }, { readHosts }, { roostPaths }] = await Promise.all([
    import('../../vm/remote-list.js'),
    import('../../vm/remote-hosts.js'),
    import('../../paths.js'),
  ]);
  const rows = await listAllHosts(readHosts(roostPaths()), { timeoutMs: seconds * 1000 });
  const failed = rows.filter((r) => r.error);
  if (failed.length > 0) process.exitCode = 1;
  if (out.json) return out.result(rows, () => '');
  for (const r of failed)
    out.warn(`host ${r.host}: ${r.error!.message}${r.error!.hint ? ` (${r.error!.hint})` : ''}`);
  const { renderTable } = await import('../../term/table.js');
  const { safeForTerminal: safe } = await import('../../term/sanitize.js');
  const vms = rows.flatMap((r) => (r.vms ?? []).map((v) => ({ host: r.host, v })));
  out.result(rows, () =>
    vms.length === 0
      ? 'no VMs on any host'
      : renderTable(
          ['HOST', 'NAME', 'STATE', 'CPUS', 'MEMORY', 'PORTS'],
          vms.map(({ host, v }) => [
            host,
            v.managedBy === 'roost' ? safe(v.name) : `${safe(v.name)}*`,
            v.state,
            v.cpus,
            `${v.memoryMiB}M`,
            safe(v.ports.join(' ')) || '-',
          ]),
        ),
  );
}
