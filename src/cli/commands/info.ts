// roost info NAME: everything roost knows about one VM.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('info')
    .description('show one VM: state, resources, disks, network and ports, logs, console socket')
    .argument('<name>', 'VM name')
    .option(
      '--json',
      'print JSON (the shape of roost ls --json plus id, disks, boot, firmware, serialLog, vncSocket, guestAgent, roost, mounts, ip, ipSource, snapshots)',
    )
    .addHelpText('after', '\nExamples:\n  roost info web\n  roost info web --json | jq .ports')
    .action(async (name, _opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { describeVm } = await import('../../vm/info.js');
        // The address as `roost ip` finds it (null when stopped or unknown); never fails `info` itself.
        const { info: v, addresses: found } = await describeVm(await context(), name);
        if (out.json) return out.result(v, () => '');
        // Everything below but numbers comes from the domain XML or the guest: shown escaped, never raw.
        const { safeForTerminal } = await import('../../term/sanitize.js');
        const safe = (s: string | number | null | undefined) => safeForTerminal(String(s));
        out.result(v, () =>
          [
            `name:        ${safe(v.name)}${v.managedBy === 'roost' ? '' : '  (not created by roost)'}`,
            `uuid:        ${safe(v.uuid)}`,
            `state:       ${v.state}`,
            `accel:       ${safe(v.accel)}`,
            `cpus:        ${v.cpus}`,
            `memory:      ${v.memoryMiB} MiB`,
            `boot:        ${safe(v.boot)} (${safe(v.firmware)})`,
            ...v.disks.map(
              (d, i) =>
                `${i ? '             ' : 'disks:       '}${safe(d.target ?? '?')} ${safe(d.device)} ${safe(d.path ?? '(empty)')}${d.format ? ` [${safe(d.format)}]` : ''}${d.readonly ? ' read-only' : ''}`,
            ),
            `network:     ${safe(v.networks.join(', ')) || 'none'}`,
            `ports:       ${safe(v.ports.join(' ')) || 'none'}`,
            ...(v.mounts.length === 0
              ? ['mounts:      none']
              : v.mounts.map(
                  (m, i) =>
                    `${i ? '             ' : 'mounts:      '}${safe(m.hostDir)} → ${m.guestDir === null ? '?' : safe(m.guestDir)} (${m.mode}, ${safe(m.type)}, tag ${safe(m.tag)})`,
                )),
            `ip:          ${
              v.ip === null
                ? found?.nics.some((n) => n.endpoints?.length)
                  ? 'none (passt: use the forwarded ports)'
                  : 'unknown'
                : `${v.ip}${v.ipSource ? ` (from ${v.ipSource.source}${v.ipSource.where ? ` ${safe(v.ipSource.where)}` : ''})` : ''}`
            }`,
            `serial log:  ${safe(v.serialLog ?? 'none')}`,
            `vnc socket:  ${safe(v.vncSocket ?? 'none')}`,
            `guest agent: ${v.guestAgent ? 'channel present' : 'no channel'}`,
            `snapshots:   ${v.snapshots.count}${v.snapshots.current ? ` (current: ${safe(v.snapshots.current)})` : ''}`,
            `autostart:   ${v.autostart ? 'at login (roost autostart off to stop)' : 'no'}`,
            ...(v.roost
              ? [`created:     ${safe(v.roost.createdAt ?? '?')} by ${safe(v.roost.createdBy ?? '?')}`]
              : []),
            ...(v.roost?.imageRef ? [`image:       ${safe(v.roost.imageRef)}`] : []),
          ].join('\n'),
        );
      }),
    );
}
