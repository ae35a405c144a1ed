// roost template ls: the templates roost create --template takes (shipped, and the user's own).
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import type { VmSpec } from '../../declarative/schema.js';
import type { RoostPaths } from '../../paths.js';

export function define(program: Command): void {
  const template = program
    .command('template')
    .description(
      'VM templates for roost create --template (shipped, and yours in ~/.config/roost/templates/)',
    )
    .addHelpText(
      'after',
      `
Examples:
  roost template ls
  roost create web --template debian-12 --memory 4G     # flags override the template's fields
  cp "$(roost template ls --json | jq -r '.[] | select(.name=="debian-12") | .path')" ~/.config/roost/templates/mine.yaml`,
    );
  template
    .command('ls')
    .description('list the templates')
    .option('--json', 'print them as JSON: [{name, source, path, boots}]')
    .addHelpText('after', '\nExamples:\n  roost template ls\n  roost template ls --json')
    .action(async (opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const [{ listTemplates }, { roostPaths }] = await Promise.all([
          import('../../declarative/templates.js'),
          import('../../paths.js'),
        ]);
        const list = listTemplates(roostPaths());
        out.result(list, () =>
          list.map((t) => `${t.name.padEnd(18)} ${t.source.padEnd(8)} ${t.boots}`).join('\n'),
        );
      }),
    );
}

/** The create options a template gives, for those the command line left out (create --template). */
export interface TemplateOptions {
  image?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  memory?: string;
  cpus?: string;
  disk?: string;
  port: string[];
  network: string[];
  firmware?: 'uefi' | 'bios';
  user?: string;
  sshKey?: string;
  cloudInit?: string | boolean;
  autoPorts?: boolean;
}

export async function withTemplate<T extends TemplateOptions>(
  name: string,
  opts: T,
  paths: RoostPaths,
): Promise<T> {
  const { loadTemplate } = await import('../../declarative/templates.js');
  const t: VmSpec = loadTemplate(paths, name);
  const image = typeof t.image === 'string' ? t.image : t.image?.ref;
  const out: T = { ...opts };
  // A source on the command line replaces the template's (a --kernel VM has no image of the template's).
  const ownSource = opts.image !== undefined || opts.kernel !== undefined;
  if (!ownSource) {
    out.image = image;
    out.kernel = t.kernel?.path;
    out.initrd ??= t.kernel?.initrd;
    out.cmdline ??= t.kernel?.cmdline;
  }
  out.memory ??= t.memory === undefined ? undefined : String(t.memory);
  out.cpus ??= t.cpus === undefined ? undefined : String(t.cpus);
  out.disk ??= t.disk === undefined ? undefined : String(t.disk);
  if (opts.port.length === 0 && t.ports) out.port = t.ports;
  if (opts.network.length === 0 && t.networks) out.network = t.networks;
  out.firmware ??= t.firmware;
  out.user ??= t.cloudInit?.user;
  out.sshKey ??= t.cloudInit?.sshKey;
  out.autoPorts ??= t.autoPorts;
  if (out.cloudInit === true || out.cloudInit === undefined)
    out.cloudInit = (await templateCloudConfig(t)) ?? out.cloudInit;
  return out;
}

/** The template's packages, runcmd and userData as a cloud-config file for --cloud-init (removed at exit). */
async function templateCloudConfig(t: VmSpec): Promise<string | undefined> {
  const [{ cloudConfigOf }, fs, os, path] = await Promise.all([
    import('../../vm/apply-create.js'),
    import('node:fs'),
    import('node:os'),
    import('node:path'),
  ]);
  const config = cloudConfigOf(t);
  if (config === undefined) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roost-template-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cloud-config.yaml');
  fs.writeFileSync(file, config, { mode: 0o600 });
  return file;
}
