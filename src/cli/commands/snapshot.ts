// roost snapshot create|ls|revert|rm NAME [SNAP]: a VM's saved states.
import { Option, type Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description("save a VM's state and go back to it (disks, and memory when it runs)")
    .addHelpText(
      'after',
      `
Examples:
  roost snapshot create web before-upgrade      # a running VM: with its memory, reverting gives it back running
  roost snapshot create web --disk-only         # disks only (filesystems frozen through the guest agent if it answers)
  roost snapshot ls web
  roost snapshot revert web before-upgrade
  roost snapshot rm web before-upgrade`,
    );
  defineSnapshotCreate(snapshot);
  defineSnapshotLs(snapshot);
  defineSnapshotRevert(snapshot);
  defineSnapshotRm(snapshot);
}

function defineSnapshotCreate(parent: Command): void {
  parent
    .command('create')
    .description('take a snapshot (named by the time when SNAP is left out)')
    .argument('<name>', 'VM name')
    .argument('[snap]', 'snapshot name: letters, digits, . _ -')
    .option('--description <text>', 'a note kept with the snapshot')
    .option('--disk-only', "a running VM's disks only, not its memory (crash-consistent)")
    .addOption(
      new Option(
        '--kind <kind>',
        'internal (inside the qcow2 disk) or external (overlay files); default: roost chooses',
      ).choices(['internal', 'external'] as const),
    )
    .option('--json', 'print the snapshot as JSON (see docs/cli-json.md)')
    .addHelpText(
      'after',
      '\nExamples:\n  roost snapshot create web before-upgrade --description "before apt upgrade"',
    )
    .action(async (name, snap, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { createVmSnapshot } = await import('../../vm/snapshot.js');
        const r = await createVmSnapshot(await context(), name, snap, {
          description: opts.description,
          diskOnly: !!opts.diskOnly,
          kind: opts.kind,
        });
        out.result(r, () => {
          const what = r.memory ? 'disks and memory' : r.quiesced ? 'disks, filesystems frozen' : 'disks';
          return `${name}: snapshot ${r.name} taken (${what}; ${r.kind}: ${r.kindReason})`;
        });
      }),
    );
}

function defineSnapshotLs(parent: Command): void {
  parent
    .command('ls')
    .alias('list')
    .description("list a VM's snapshots, oldest first")
    .argument('<name>', 'VM name')
    .option('--json', 'print {name, current, snapshots: [...]} (see docs/cli-json.md)')
    .addHelpText('after', '\nExamples:\n  roost snapshot ls web\n  roost snapshot ls web --json')
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const [{ listVmSnapshots }, { renderTable }] = await Promise.all([
          import('../../vm/snapshot.js'),
          import('../../term/table.js'),
        ]);
        const r = await listVmSnapshots(await context(), name);
        out.result(r, () =>
          r.snapshots.length === 0
            ? `${name} has no snapshots`
            : renderTable(
                ['', 'NAME', 'TAKEN', 'STATE', 'KIND', 'PARENT', 'DESCRIPTION'],
                r.snapshots.map((s) => [
                  s.current ? '*' : '',
                  s.name,
                  s.createdAt?.replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '',
                  s.memory ? `${s.state ?? ''} (+memory)` : (s.state ?? ''),
                  s.kind,
                  s.parent ?? '',
                  s.description ?? '',
                ]),
              ),
        );
      }),
    );
}

function defineSnapshotRevert(parent: Command): void {
  parent
    .command('revert')
    .description('put the VM back to a snapshot (a memory snapshot comes back running)')
    .argument('<name>', 'VM name')
    .argument('<snap>', 'snapshot name')
    .option('--start', 'start the VM after reverting to a snapshot without memory')
    .option('--json', 'print {vm, snapshot, running}')
    .addHelpText('after', '\nExamples:\n  roost snapshot revert web before-upgrade')
    .action(async (name, snap, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { revertVmSnapshot } = await import('../../vm/snapshot.js');
        const r = await revertVmSnapshot(await context(), name, snap, { start: !!opts.start });
        out.result(r, () => `${name} is back at snapshot ${snap} (${r.running ? 'running' : 'shut off'})`);
      }),
    );
}

function defineSnapshotRm(parent: Command): void {
  parent
    .command('rm')
    .alias('remove')
    .description('delete a snapshot (its changes are merged into what follows it)')
    .argument('<name>', 'VM name')
    .argument('<snap>', 'snapshot name')
    .option('--json', 'print {vm, snapshot}')
    .addHelpText('after', '\nExamples:\n  roost snapshot rm web before-upgrade')
    .action(async (name, snap, opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const { deleteVmSnapshot } = await import('../../vm/snapshot.js');
        const r = await deleteVmSnapshot(await context(), name, snap);
        out.result(r, () => `${name}: snapshot ${snap} removed`);
      }),
    );
}
