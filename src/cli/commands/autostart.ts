// roost autostart on|off NAME, roost autostart ls: start VMs at login (a systemd user unit per VM).
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  const autostart = program
    .command('autostart')
    .description('start a VM when you log in (or when the host boots, with --at-boot): a systemd user unit')
    .addHelpText(
      'after',
      `
Examples:
  roost autostart on web              # starts at your next login; stops when your session ends
  roost autostart on web --at-boot    # also at boot: prints the one root command it needs (enable-linger)
  roost autostart ls
  roost autostart off web

The unit is ~/.config/systemd/user/roost-vm-NAME.service; roost rm NAME removes it too.`,
    );
  defineAutostartOn(autostart);
  defineAutostartOff(autostart);
  defineAutostartLs(autostart);
}

function defineAutostartOn(parent: Command): void {
  parent
    .command('on')
    .description('write and enable the unit that starts NAME at login')
    .argument('<name>', 'VM name')
    .option(
      '--at-boot',
      'start it when the host boots, before any login (needs lingering, enabled once by root)',
    )
    .option(
      '--json',
      'print the result as JSON: {name, unit, path, atBoot, lingerCommand, warnings} (see docs/cli-json.md)',
    )
    .addHelpText('after', '\nExamples:\n  roost autostart on web\n  roost autostart on web --at-boot')
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context, globals }) => {
        const [{ autostartOn, checkAutostartUri }, { autostartEnabled }, { lookupVm }, { defaultUri }] =
          await Promise.all([
            import('../../vm/autostart.js'),
            import('../../vm/wire-state.js'),
            import('../../vm/lookup.js'),
            import('../../libvirt/uri.js'),
          ]);
        // Before connecting: a remote host is refused without dialling it.
        checkAutostartUri(globals.connect ?? defaultUri());
        const ctx = await context();
        // The name becomes a unit file: it must be an existing VM's before anything is written.
        await lookupVm(ctx, name);
        const r = autostartEnabled(await autostartOn(ctx.uri, name, !!opts.atBoot, { env: ctx.env }));
        for (const w of r.warnings) out.warn(w);
        out.result(r, () => {
          const lines = [`${name} starts when you log in (${r.path})`];
          if (r.lingerCommand)
            lines.push(`to start it at boot without a login, run once as root: ${r.lingerCommand}`);
          else if (r.atBoot) lines.push('lingering is on for you: it also starts when the host boots');
          return lines.join('\n');
        });
      }),
    );
}

function defineAutostartOff(parent: Command): void {
  parent
    .command('off')
    .description('disable and remove the unit of NAME')
    .argument('<name>', 'VM name')
    .option('--json', 'print the result as JSON: {name, removed} (see docs/cli-json.md)')
    .addHelpText('after', '\nExamples:\n  roost autostart off web')
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, globals }) => {
        const [{ autostartOff, checkAutostartUri }, { autostartDisabled }, { checkVmRef }, { defaultUri }] =
          await Promise.all([
            import('../../vm/autostart.js'),
            import('../../vm/wire-state.js'),
            import('../../vm/input.js'),
            import('../../libvirt/uri.js'),
          ]);
        // The units are this host's: with -H lab, `off web` would remove the unit of this host's web instead.
        checkAutostartUri(globals.connect ?? defaultUri());
        // No lookup: a unit left behind by a VM someone removed with virsh must still be removable.
        const r = autostartDisabled(autostartOff(checkVmRef(name)));
        out.result(r, () =>
          r.removed ? `${name} no longer starts at login` : `${name} did not start at login: nothing to do`,
        );
      }),
    );
}

function defineAutostartLs(parent: Command): void {
  parent
    .command('ls')
    .description('list the VMs that start at login')
    .option(
      '--json',
      'print the result as JSON: {vms: [name…], systemd: {installed, running, userManager, linger}}',
    )
    .addHelpText('after', '\nExamples:\n  roost autostart ls\n  roost autostart ls --json')
    .action(async (opts, cmd) =>
      runAction(cmd, async ({ out, globals }) => {
        const [{ autostartVms, systemdState, checkAutostartUri }, { autostartList }, { defaultUri }] =
          await Promise.all([
            import('../../vm/autostart.js'),
            import('../../vm/wire-state.js'),
            import('../../libvirt/uri.js'),
          ]);
        // The list is of this host's units: for another host it would answer a question nobody asked.
        checkAutostartUri(globals.connect ?? defaultUri());
        const r = autostartList(autostartVms(), systemdState());
        const { vms, systemd } = r;
        out.result(r, () => {
          if (vms.length === 0) return 'no VM starts at login';
          const boot = systemd.linger ? ' (and at boot: lingering is on)' : '';
          return `start at login${boot}:\n${vms.map((v) => `  ${v}`).join('\n')}`;
        });
      }),
    );
}
