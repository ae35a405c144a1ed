// roost port ls|add|rm NAME [ADDR:]HOST:GUEST[/tcp|udp]: a VM's passt port forwards, live where possible.
import { Option, type Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import type { PortList } from '../../shared/api-types.js';
import type { VmContext } from '../../vm/context.js';

const applyOption = () =>
  new Option(
    '--apply <when>',
    'on a running VM: auto (in place, else re-plug the NIC if the guest agent answers, else at next start), ' +
      'now (re-plug the NIC: the guest must re-run DHCP), next-start',
  )
    .choices(['auto', 'now', 'next-start'] as const)
    .default('auto' as const);

function describeApplied(r: import('../../vm/ports.js').PortChangeResult): string {
  switch (r.applied) {
    case 'unchanged':
      return `${r.name}: nothing to change`;
    case 'stopped':
      return `${r.name} is not running: the forwards apply when it starts`;
    case 'live-update':
      return `${r.name}: applied to the running VM`;
    case 'replug':
      return (
        `${r.name}: applied live by re-plugging its network interface (no NIC for ${r.nicGapMs} ms` +
        (r.guestBackMs === undefined
          ? '; the guest must configure it again'
          : r.guestBackMs === null
            ? '; the guest agent reported no IPv4 address on it afterwards'
            : `; guest address back after ${r.guestBackMs} ms`) +
        ')'
      );
    case 'next-start':
      return `${r.name}: applies at next start (roost restart ${r.name}) — ${r.reason ?? ''}`;
  }
}

/** What the user must know about a change that met a signal or a lost daemon and was finished all the same. */
function afterFaults(r: import('../../vm/ports.js').PortChangeResult): string[] {
  return [
    ...(r.recovered ? [r.recovered] : []),
    ...(r.interruptedBy
      ? [
          `interrupted (${r.interruptedBy}) while the network interface was unplugged: finished plugging it back in with the new forwards rather than leave ${r.name} without one`,
        ]
      : []),
  ];
}

export function define(program: Command): void {
  const port = program
    .command('port')
    .description('list, add and remove port forwards of a VM (passt networking)')
    .addHelpText(
      'after',
      `
Examples:
  roost port ls web
  roost port add web 8080:80 5353:53/udp 8000-8010:8000-8010
  roost port add web 0.0.0.0:8443:443        (reachable from the network: prints a warning)
  roost port rm web 8080                      (by host port, or a full spec)`,
    );
  defineWatch(port);
  defineList(port);
  defineAdd(port);
  defineRemove(port);
}

function defineWatch(port: Command): void {
  port
    .command('watch')
    .description(
      'forward the ports the guest listens on to the same ports of 127.0.0.1, while the VM runs (auto-ports)',
    )
    .argument('<name>', 'VM name (needs an ssh route: a cloud-image VM roost created)')
    .option(
      '--detach',
      'run in the background (what create/start --auto-ports do); log in ~/.local/state/roost/logs',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  roost port watch web            # Ctrl-C stops it\n  roost port watch --detach web',
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context, globals }) => {
        const [
          { watchAutoPorts, spawnAutoPortsWatcher, readAutoPorts },
          { lookupVm },
          { refuseRemoteAutoPorts },
        ] = await Promise.all([
          import('../../vm/auto-ports.js'),
          import('../../vm/lookup.js'),
          import('../../vm/remote.js'),
        ]);
        const ctx = await context();
        // Before a detached watcher is spawned: it would only fail, in a log file nobody reads.
        refuseRemoteAutoPorts(ctx, name);
        // The name becomes the watcher's state and log file names: it must be a VM's before any is touched.
        await lookupVm(ctx, name);
        const running = readAutoPorts(ctx.paths, name);
        if (running)
          return out.result(running, () => `auto-ports for ${name} already run (pid ${running.pid})`);
        if (opts.detach) {
          const pid = spawnAutoPortsWatcher(ctx.paths, name, process.argv[1]!, globals.connect);
          return out.result({ name, pid }, () => `auto-ports for ${name} run in the background (pid ${pid})`);
        }
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        await watchAutoPorts(ctx, name, { signal: stop.signal, log: (l) => out.info(l) });
      }),
    );
}

function defineList(port: Command): void {
  port
    .command('ls')
    .description('list the forwards: configured, and whether the running VM has them')
    .argument('<name>', 'VM name')
    .option(
      '--json',
      'print JSON: {name, running, mac, ports: [{spec, proto, address, host, guest, state, exposed, tunnel}]}',
    )
    .addHelpText('after', '\nExamples:\n  roost port ls web\n  roost port ls web --json')
    .action(async (name, _opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { listPorts } = await import('../../vm/ports.js');
        const ctx = await context();
        const list = await listPorts(ctx, name);
        if (out.json) return out.result(list, () => '');
        const { renderTable } = await import('../../term/table.js');
        const reach = await reachFromHere(ctx, list);
        out.result(list, () => {
          if (list.mac === null)
            return `${name} has no passt NIC: no ports to forward (try: roost ip ${name})`;
          if (list.ports.length === 0)
            return `${name} forwards no ports (add one: roost port add ${name} 8080:80)`;
          const state = {
            active: 'active',
            'next-start': 'next start',
            'removed-at-next-start': 'until stop',
            configured: '-',
            auto: 'auto (ssh)',
          };
          const table = renderTable(
            ['PROTO', 'ADDRESS', 'HOST', 'GUEST', 'STATE'],
            list.ports.map((p) => [
              p.proto,
              p.exposed ? `${p.address} (network)` : p.address,
              p.host,
              p.guest,
              state[p.state],
            ]),
          );
          return [table, ...reach].join('\n');
        });
      }),
    );
}

/** A VM of another host: its forwards listen there, and the ssh line that brings each here. */
async function reachFromHere(ctx: VmContext, list: PortList): Promise<string[]> {
  const { isRemote, jumpHostOf } = await import('../../vm/remote.js');
  if (!isRemote(ctx)) return [];
  const lines = list.ports.map((p) => p.tunnel).filter((t) => t !== null);
  if (lines.length === 0) return [];
  return [
    `these listen on the remote host ${jumpHostOf(ctx)}; to reach one on the same port of this host's 127.0.0.1:`,
    ...lines.map((l) => `  ${l}`),
  ];
}

function defineAdd(port: Command): void {
  port
    .command('add')
    .description('forward host ports to the VM (saved in its XML; live on a running VM where possible)')
    .argument('<name>', 'VM name')
    .argument('<spec...>', '[ADDR:]HOST:GUEST[/tcp|udp]; ADDR defaults to 127.0.0.1')
    .addOption(applyOption())
    .option(
      '--json',
      'print JSON: {name, added, removed, already, applied, reason, nicGapMs, guestBackMs, warnings, ports, recovered, interruptedBy}',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  roost port add web 8080:80\n  roost port add web 5353:53/udp 8000-8010:8000-8010\n  roost port add web 0.0.0.0:8443:443   # reachable from the network: a warning says so',
    )
    .action(async (name, specs, opts, cmd) =>
      runAction(cmd, async ({ out, context, interruptible }) => {
        const [{ addPorts }, { checkForwardCount }] = await Promise.all([
          import('../../vm/ports.js'),
          import('../../net/port-spec.js'),
        ]);
        checkForwardCount(specs);
        // A signal stops the change and undoes it, or — once the NIC is unplugged — lets it finish (vm/ports.ts).
        const r = await addPorts(await context(), name, specs, { apply: opts.apply, ...interruptible() });
        for (const w of [...r.warnings, ...afterFaults(r)]) out.warn(w);
        // Adding a forward the VM already has is not an error (the state asked for holds, as for start), but
        // it is said: exit 0 with "already forwarded".
        out.result(r, () =>
          [
            ...r.already.map((s) => `${s} is already forwarded to ${r.name}: nothing changed for it`),
            ...r.added.map((s) => `added ${s}`),
            ...(r.applied === 'unchanged' && r.already.length ? [] : [describeApplied(r)]),
          ].join('\n'),
        );
      }),
    );
}

function defineRemove(port: Command): void {
  port
    .command('rm')
    .alias('remove')
    .description('remove forwards (by full spec, or by HOST[/proto])')
    .argument('<name>', 'VM name')
    .argument('<spec...>', 'a forward as listed, or its host port: 8080, 8080/udp, 8000-8010')
    .addOption(applyOption())
    .option('--json', 'print JSON (as for add)')
    .addHelpText(
      'after',
      '\nExamples:\n  roost port rm web 8080                # by host port\n  roost port rm web 127.0.0.1:5353:53/udp',
    )
    .action(async (name, specs, opts, cmd) =>
      runAction(cmd, async ({ out, context, interruptible }) => {
        const { removePorts } = await import('../../vm/ports.js');
        const r = await removePorts(await context(), name, specs, { apply: opts.apply, ...interruptible() });
        for (const w of afterFaults(r)) out.warn(w);
        out.result(r, () => [...r.removed.map((s) => `removed ${s}`), describeApplied(r)].join('\n'));
      }),
    );
}
