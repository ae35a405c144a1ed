// roost image ls|pull|rm|import: the image catalogue and the download cache (~/.cache/roost/images).
import { Option, type Command } from '@commander-js/extra-typings';
import type { StepBoundary } from '../../images/steps.js';
import { runAction } from '../action.js';
import { stderrStream } from '../stdio.js';

const EXAMPLES = `
Examples:
  roost image ls
  roost image pull debian-12
  roost image import ~/Downloads/rhel-10.0-x86_64-kvm.qcow2 --as rhel-10
  roost image rm ubuntu-24.04
  ROOST_IMAGE_MIRROR=http://mirror.lan/images roost image pull fedora
Images and mirrors of your own: ~/.config/roost/images.yaml (docs/images.md).`;

/**
 * The step boundaries of a pull or an import, as src/vm/steps.ts keeps them for every multi-step command: where
 * ROOST_TEST_PAUSE_AT=image-pull:download (and so on) pauses the command for the fault-injection suite.
 */
async function stepHook(command: string): Promise<(signal: AbortSignal) => StepBoundary> {
  const { Steps } = await import('../../vm/steps.js');
  return (signal) => {
    const steps = new Steps(command, { signal });
    return async (step) => {
      // A pull paused by the hook has no socket open: without a timer Node would find nothing left to wait for.
      const alive = setInterval(() => {}, 60_000);
      try {
        await steps.boundary(step);
      } finally {
        clearInterval(alive);
      }
    };
  };
}

export function define(program: Command): void {
  const image = program
    .command('image')
    .description('list, download, import and remove VM base images')
    .addHelpText('after', EXAMPLES);
  defineList(image);
  definePull(image);
  defineRemove(image);
  defineImport(image);
}

function defineList(image: Command): void {
  image
    .command('ls')
    .alias('list')
    .description('list the images roost knows, and which are downloaded')
    .option(
      '--json',
      'print JSON: an array of {name, aliases, os, user, firmware, origin, importOnly, cached, path, size, url, minDiskGiB, minMemoryMiB, checksum}',
    )
    .addHelpText(
      'after',
      "\nExamples:\n  roost image ls\n  roost image ls --json | jq -r '.[] | select(.cached) | .name'",
    )
    .action(async (_opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const [{ imageStore }, { renderTable }, { formatBytes }] = await Promise.all([
          import('../../images/store.js'),
          import('../../term/table.js'),
          import('../../term/progress.js'),
        ]);
        const rows = await imageStore().list();
        out.result(rows, () =>
          renderTable(
            ['NAME', 'OS', 'USER', 'FIRMWARE', 'MIN MEM/DISK', 'CACHED', 'SIZE'],
            rows.map((r) => [
              r.name,
              r.os,
              r.user,
              r.firmware,
              r.minMemoryMiB !== undefined && r.minDiskGiB !== undefined
                ? `${formatBytes(r.minMemoryMiB * 1024 ** 2)}/${r.minDiskGiB} GiB`
                : '-',
              r.cached ? 'yes' : r.importOnly ? 'import' : 'no',
              r.size !== undefined ? formatBytes(r.size) : '-',
            ]),
          ),
        );
      }),
    );
}

function definePull(image: Command): void {
  image
    .command('pull')
    .description('download an image into the cache, verifying its published checksum')
    .argument('<ref>', 'image name or alias (roost image ls)')
    .option('--json', 'print progress events as JSON lines on stderr, and the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  roost image pull debian-12\n  ROOST_IMAGE_MIRROR=http://mirror.lan/images roost image pull fedora',
    )
    .action(async (ref, _opts, cmd) =>
      runAction(cmd, async ({ out, interruptible }) => {
        const [{ imageStore }, { checkImageName }, { createPullProgress, formatBytes }, boundary] =
          await Promise.all([
            import('../../images/store.js'),
            import('../../images/names.js'),
            import('../../term/progress.js'),
            stepHook('image-pull'),
          ]);
        checkImageName(ref);
        const onProgress = createPullProgress(
          out.json ? 'json' : out.quiet ? 'none' : 'auto',
          stderrStream(),
        );
        const { signal } = interruptible();
        const img = await imageStore().pull(ref, { onProgress, signal, boundary: boundary(signal) });
        if (signal.aborted) out.warn(`the image was cached before the ${String(signal.reason)} took effect`);
        out.result(img, () =>
          out.quiet
            ? img.path
            : `${img.downloaded ? 'downloaded' : 'already cached:'} ${img.name} (${img.format}, ${formatBytes(img.size)}, ${img.digest.algorithm} verified)\n${img.path}`,
        );
      }),
    );
}

function defineRemove(image: Command): void {
  image
    .command('rm')
    .alias('remove')
    .description('remove a downloaded or imported image from the cache')
    .argument('<ref>', 'image name or alias')
    .option('-f, --force', 'remove it even if disks in roost’s pool are overlays of it (they break)')
    .option('--json', 'print the removed files as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  roost image rm ubuntu-24.04\n  roost image rm dev --force             # VM disks based on it break',
    )
    .action(async (ref, opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const [{ imageStore }, { checkImageName }] = await Promise.all([
          import('../../images/store.js'),
          import('../../images/names.js'),
        ]);
        const r = await imageStore().remove(checkImageName(ref), { force: opts.force });
        out.result(r, () => [`${r.name} removed`, ...r.removed.map((f) => `  deleted ${f}`)].join('\n'));
      }),
    );
}

function defineImport(image: Command): void {
  image
    .command('import')
    .description('add a local qcow2/raw image (.xz/.zst/.gz too) to the cache under a name')
    .argument('<path>', 'image file')
    .requiredOption(
      '--as <name>',
      'name to use, e.g. rhel-10 (a catalogue name lends its user, firmware and sizes)',
    )
    .option('--os <text>', 'description shown by roost image ls')
    .option(
      '--user <name>',
      'login user cloud-init creates (default: the catalogue entry’s, else cloud-user)',
    )
    .addOption(
      new Option('--firmware <fw>', 'firmware the image boots with').choices(['uefi', 'bios'] as const),
    )
    .option('-f, --force', 'replace an image of that name in the cache')
    .option('--json', 'print the imported image as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  roost image import ./rhel-10.0-x86_64-kvm.qcow2 --as rhel-10\n  roost image import ./my.qcow2 --as dev --os debian --user debian',
    )
    .action(async (path, opts, cmd) =>
      runAction(cmd, async ({ out, interruptible }) => {
        const [{ imageStore }, { checkImageName }, { formatBytes }, boundary] = await Promise.all([
          import('../../images/store.js'),
          import('../../images/names.js'),
          import('../../term/progress.js'),
          stepHook('image-import'),
        ]);
        const as = checkImageName(opts.as);
        const { signal } = interruptible();
        const img = await imageStore().import(path, {
          as,
          os: opts.os,
          user: opts.user,
          firmware: opts.firmware,
          force: opts.force,
          signal,
          boundary: boundary(signal),
        });
        if (signal.aborted) out.warn(`the image was cached before the ${String(signal.reason)} took effect`);
        out.result(img, () => `imported ${img.name} (${img.format}, ${formatBytes(img.size)})\n${img.path}`);
      }),
    );
}
