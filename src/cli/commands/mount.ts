// roost mount ls|add|rm NAME …: a VM's shared folders (host directories the guest mounts).
import { Option, type Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

function describeApplied(r: import('../../vm/mounts.js').MountChangeResult, verb: string): string {
  return r.applied === 'stopped'
    ? `${r.name} is not running: ${verb} when it starts`
    : `${r.name} is running: ${verb} at its next start (roost restart ${r.name}) — ${r.reason ?? ''}`;
}

export function define(program: Command): void {
  const mount = program
    .command('mount')
    .description('list, add and remove shared folders of a VM (host directories the guest mounts)')
    .addHelpText(
      'after',
      `
Examples:
  roost mount ls dev
  roost mount add dev ~/src                 (at the same path in the guest)
  roost mount add dev ~/data:/data:ro       (read-only, at /data)
  roost mount rm dev /data                  (by guest dir, host dir or tag)
Changes apply at the VM's next start: libvirt cannot hot-plug 9p, and virtiofs needs the shared memory a VM is
started with. A cloud image made with --mount mounts its folders at every boot; one added later is mounted in
the guest with the line 'mount add' prints (or add it to the guest's /etc/fstab). See docs/files.md.`,
    );

  defineLs(mount);
  defineAdd(mount);
  defineRm(mount);
}

/** `mount ls`: a table, or MountList as JSON. */
function defineLs(mount: Command): void {
  mount
    .command('ls')
    .description('list the shared folders: tag, host dir, guest dir, mode, type')
    .argument('<name>', 'VM name')
    .option(
      '--json',
      'print JSON: {name, running, mounts: [{tag, type, hostDir, hostDirGiven, guestDir, mode, accessmode, state}]}',
    )
    .addHelpText('after', '\nExamples:\n  roost mount ls dev\n  roost mount ls dev --json')
    .action(async (name, _opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { listMounts } = await import('../../vm/mounts.js');
        const list = await listMounts(await context(), name);
        if (out.json) return out.result(list, () => '');
        const [{ renderTable }, { safeForTerminal }] = await Promise.all([
          import('../../term/table.js'),
          import('../../term/sanitize.js'),
        ]);
        out.result(list, () => {
          if (list.mounts.length === 0) {
            return `${name} has no shared folders (add one: roost mount add ${name} ~/src)`;
          }
          const state = {
            active: 'active',
            'next-start': 'next start',
            'removed-at-next-start': 'until stop',
            configured: '-',
          };
          // Paths come from the domain XML (any tool may have written it): shown escaped.
          return renderTable(
            ['TAG', 'HOST DIR', 'GUEST DIR', 'MODE', 'TYPE', 'STATE'],
            list.mounts.map((m) => [
              safeForTerminal(m.tag),
              safeForTerminal(m.hostDir),
              m.guestDir === null ? '(not recorded)' : safeForTerminal(m.guestDir),
              m.mode,
              safeForTerminal(m.type),
              state[m.state],
            ]),
          );
        });
      }),
    );
}

/** `mount add`: a new shared folder in the definition. */
function defineAdd(mount: Command): void {
  mount
    .command('add')
    .description("share a host directory with a VM (changes its definition; applies at the VM's next start)")
    .argument('<name>', 'VM name')
    .argument('<spec>', 'HOSTDIR[:GUESTDIR][:ro]; GUESTDIR defaults to HOSTDIR')
    .addOption(
      new Option(
        '--type <type>',
        'virtiofs or 9p (default: virtiofs where the host can run it, else 9p)',
      ).choices(['virtiofs', '9p'] as const),
    )
    .option('--mount-home', 'allow sharing your whole home directory (add :ro to keep it read-only)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  roost mount add dev ~/src\n  roost mount add dev ~/data:/data:ro --type 9p',
    )
    .action(async (name, spec, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { addMount } = await import('../../vm/mounts.js');
        const r = await addMount(await context(), name, spec, { type: opts.type, mountHome: opts.mountHome });
        for (const w of r.warnings) out.warn(w);
        const m = r.mount;
        out.result(r, () =>
          [
            `${m.hostDir} → ${m.guestDir ?? '?'} in ${name} (${m.mode}, ${m.type}, tag ${m.tag})`,
            describeApplied(r, 'the guest sees it'),
            `in the guest: ${r.guestCommand ?? ''}`,
          ].join('\n'),
        );
      }),
    );
}

/** `mount rm`: a shared folder out of the definition. */
function defineRm(mount: Command): void {
  mount
    .command('rm')
    .description(
      "stop sharing a directory with a VM (changes its definition; applies at the VM's next start)",
    )
    .argument('<name>', 'VM name')
    .argument('<which>', 'the shared folder: its guest dir, host dir or tag (roost mount ls NAME)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  roost mount rm dev /data\n  roost mount rm dev roost1')
    .action(async (name, which, _opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { removeMount } = await import('../../vm/mounts.js');
        const r = await removeMount(await context(), name, which);
        out.result(r, () =>
          [
            `${r.mount.hostDir} is no longer shared with ${name} (tag ${r.mount.tag})`,
            describeApplied(r, 'it is gone'),
          ].join('\n'),
        );
      }),
    );
}
