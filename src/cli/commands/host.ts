// roost host bridge-setup: print (or, with --apply, run as root / through sudo) the one-time steps that let
// session VMs join a host-only bridge with --network bridge=NAME.
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import type { BridgeSetupReport } from '../../shared/host.js';

export function define(program: Command): void {
  const host = program
    .command('host')
    .description('one-time host setup (needs root once; VMs never do)')
    .addHelpText(
      'after',
      '\nExamples:\n  roost host bridge-setup           what --network bridge=virbr0 still needs\n  roost host bridge-setup --apply',
    );

  host
    .command('bridge-setup')
    .description(
      'show or perform the root steps for --network bridge=NAME (bridge.conf, setuid helper, bridge)',
    )
    .option('--bridge <name>', "bridge to allow (default virbr0, libvirt's default network)")
    .option(
      '--user <name>',
      'with --bridge: create that bridge for this user only (an ACL only they can read)',
    )
    .option('--subnet <a.b.c>', 'with --bridge: the /24 the new bridge gets (default: derived from its name)')
    .option('--apply', 'run the missing steps (as root, or through sudo)')
    .option('--json', 'print JSON: {bridge, user, steps: [{id, title, done, detail, commands}], applied}')
    .addHelpText(
      'after',
      `
Examples:
  roost host bridge-setup                          what is missing for virbr0, and the commands
  roost host bridge-setup --apply                  do it (sudo asks for your password)
  sudo roost host bridge-setup --bridge br-alice --user alice --apply
Then: roost create NAME ... --network bridge=virbr0 ; roost ip NAME`,
    )
    .action(async (opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const m = await import('../../host/bridge-setup.js');
        const req = { bridge: opts.bridge, user: opts.user, subnet: opts.subnet };
        const uid = process.getuid?.() ?? 0;
        const steps = m.planBridgeSetup(req, m.gatherFacts(req));
        const bridge = m.checkRequest(req).bridge;
        const applied = opts.apply ? await m.applySteps(steps, uid) : [];
        const after = opts.apply ? m.planBridgeSetup(req, m.gatherFacts(req)) : steps;
        const data: BridgeSetupReport = {
          bridge,
          user: opts.user ?? null,
          steps: after.map((s) => ({
            ...s,
            commands: s.commands.map((c) => ({
              argv: m.rootArgv(c, uid),
              ...(c.input === undefined ? {} : { input: c.input }),
            })),
          })),
          applied: applied.map((a) => a.argv),
        };
        out.result(data, () => {
          const lines: string[] = [];
          if (opts.apply) lines.push(applied.length ? `ran ${applied.length} command(s)` : 'nothing to do');
          for (const s of after) {
            lines.push(`${s.done ? 'ok  ' : s.refused ? 'no  ' : 'todo'}  ${s.title}: ${s.detail}`);
            if (s.refused && s.refused !== s.detail) lines.push(`        refused: ${s.refused}`);
            if (!s.done) for (const c of s.commands) lines.push(`        ${m.shellLine(c, uid)}`);
          }
          const todo = after.filter((s) => !s.done).length;
          const refused = after.some((s) => !s.done && s.refused);
          lines.push(
            refused
              ? 'refused: nothing will be run until what is refused above is fixed'
              : todo === 0
                ? `ready: roost create NAME ... --network bridge=${bridge}`
                : opts.apply
                  ? `${todo} step(s) still missing`
                  : `run these, or: roost host bridge-setup${opts.bridge ? ` --bridge ${opts.bridge}` : ''}${opts.user ? ` --user ${opts.user}` : ''} --apply`,
          );
          return lines.join('\n');
        });
      }),
    );
}
