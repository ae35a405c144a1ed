// roost hosts add|ls|rm: the user's host list (~/.config/roost/hosts.yaml), whose names -H takes.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import type { HostEntry } from '../../shared/hosts.js';

const hostsModule = () => import('../../vm/remote-hosts.js');
const localPaths = async () => (await import('../../paths.js')).roostPaths();

export function define(program: Command): void {
  const hosts = program
    .command('hosts')
    .description('the host list: short names for remote libvirt URIs, used with -H NAME')
    .addHelpText(
      'after',
      `
Examples:
  roost hosts add lab qemu+ssh://alice@lab.example/session
  roost -H lab ls
  roost ls --all-hosts
  roost hosts rm lab

One-time set-up of a remote host: docs/hosts.md.`,
    );
  defineAdd(hosts);
  defineLs(hosts);
  defineRm(hosts);
}

function defineAdd(hosts: Command): void {
  hosts
    .command('add')
    .description('add a host to the list (nothing is contacted: check it with roost doctor -H NAME)')
    .argument('<name>', "a short name: letters, digits, '-' and '_'")
    .argument('<uri>', 'its libvirt URI, e.g. qemu+ssh://USER@HOST/session')
    .option('--json', 'print JSON: {name, uri}')
    .addHelpText(
      'after',
      "\nExamples:\n  roost hosts add lab qemu+ssh://alice@lab.example/session\n  roost hosts add nas 'qemu+ssh://alice@nas:2222/session?keyfile=/home/alice/.ssh/nas'",
    )
    .action(async (name, uri, _opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const { addHost } = await hostsModule();
        const entry: HostEntry = addHost(await localPaths(), name, uri);
        out.result(
          entry,
          () => `added host ${entry.name}: ${entry.uri} (try: roost doctor -H ${entry.name})`,
        );
      }),
    );
}

function defineLs(hosts: Command): void {
  hosts
    .command('ls')
    .alias('list')
    .description('list the hosts')
    .option('--json', 'print JSON: an array of {name, uri}')
    .addHelpText('after', "\nExamples:\n  roost hosts ls\n  roost hosts ls --json | jq -r '.[].name'")
    .action(async (_opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const { readHosts } = await hostsModule();
        const list: HostEntry[] = readHosts(await localPaths());
        const { renderTable } = await import('../../term/table.js');
        out.result(list, () =>
          list.length === 0
            ? 'no hosts yet — add one: roost hosts add NAME qemu+ssh://USER@HOST/session'
            : renderTable(
                ['NAME', 'URI'],
                list.map((h) => [h.name, h.uri]),
              ),
        );
      }),
    );
}

function defineRm(hosts: Command): void {
  hosts
    .command('rm')
    .alias('remove')
    .description('remove a host from the list (its VMs are not touched)')
    .argument('<name>', 'host name')
    .option('--json', 'print JSON: {name, uri} of the removed host')
    .addHelpText('after', '\nExamples:\n  roost hosts rm lab')
    .action(async (name, _opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const { removeHost } = await hostsModule();
        const entry: HostEntry = removeHost(await localPaths(), name);
        out.result(entry, () => `removed host ${entry.name} (${entry.uri}); its VMs are still there`);
      }),
    );
}
