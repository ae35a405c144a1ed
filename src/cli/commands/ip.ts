// roost ip NAME: the VM's address (bridge/network NICs) or its forwarded host endpoints (passt), found without root.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export function define(program: Command): void {
  program
    .command('ip')
    .description("show a VM's IP address and where it was found (agent, libvirt, lease file, ARP table)")
    .argument('<name>', 'VM name')
    .option(
      '--lease-file <path>',
      'also read this dnsmasq lease file (or libvirt .status file); repeatable; also $ROOST_LEASE_FILES',
      collect,
      [] as string[],
    )
    .option('--json', 'print JSON: {name, state, ip, nics: [{mac, network, addresses, endpoints, tried}]}')
    .addHelpText(
      'after',
      `
Sources, in order: guest agent, libvirt (agent, then ARP), readable dnsmasq lease files, /proc/net/arp.
A passt (user-mode) NIC has no address the host can reach: its forwarded endpoints are shown instead.
Examples:
  roost ip web
  ssh debian@$(roost ip web --json | jq -r .ip)`,
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        // The module loads while the connection opens: the daemon's replies overlap our compiling.
        const [{ requireAddresses }, ctx] = await Promise.all([import('../../vm/ip.js'), context()]);
        const r = await requireAddresses(ctx, name, { leaseFiles: opts.leaseFile });
        if (out.json) return out.result(r, () => '');
        // Interface names come from the guest agent, the rest from the domain XML: shown escaped, never raw.
        const { safeForTerminal: safe } = await import('../../term/sanitize.js');
        out.result(r, () =>
          r.nics
            .flatMap((n) => [
              ...n.addresses.map(
                (a) =>
                  `${a.ip}${a.prefix === undefined ? '' : `/${a.prefix}`}  ${safe(n.network)}  ${safe(n.mac ?? '')}  (${a.source}${a.where ? ` ${safe(a.where)}` : ''})`,
              ),
              ...(n.endpoints ?? []).map(
                (e) => `${safe(e)}  ${safe(n.network)}  ${safe(n.mac ?? '')}  (forwarded port)`,
              ),
            ])
            .join('\n'),
        );
      }),
    );
}
