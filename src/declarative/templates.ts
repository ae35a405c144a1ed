// Templates: VM files to start a VM from (`roost create NAME --template debian-12`). roost ships one per
// catalogue distribution and a tiny direct-kernel one (templates/ in the package); a user's own go in
// ~/.config/roost/templates/NAME.yaml and win over a shipped one of the same name. A template's name is a
// plain word: never a path, so `--template ../../x` cannot reach a file outside those two folders.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { RoostPaths } from '../paths.js';
import { withAbsolutePaths } from './paths.js';
import { readVmFile } from './read.js';
import type { VmSpec } from './schema.js';
import type { TemplateInfo } from '../shared/declarative.js';

export const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function templateDirs(
  paths: Pick<RoostPaths, 'config'>,
): { source: TemplateInfo['source']; dir: string }[] {
  const root = packageRoot();
  return [
    { source: 'user' as const, dir: join(paths.config, 'templates') },
    ...(root === null ? [] : [{ source: 'shipped' as const, dir: join(root, 'templates') }]),
  ];
}

function checkTemplateName(name: string): string {
  if (!TEMPLATE_NAME.test(name) || name.includes('..')) {
    throw new UsageError(
      'INVALID_TEMPLATE',
      `invalid template name '${name.slice(0, 80)}': a template is named by a word, not a path`,
      {
        hint: 'list them with: roost template ls',
      },
    );
  }
  return name;
}

/** Every template, the user's first; a user template hides a shipped one of its name. */
export function listTemplates(paths: Pick<RoostPaths, 'config'>): TemplateInfo[] {
  const seen = new Set<string>();
  const out: TemplateInfo[] = [];
  for (const { source, dir } of templateDirs(paths)) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      const name = basename(f, '.yaml');
      if (!f.endsWith('.yaml') || !TEMPLATE_NAME.test(name) || seen.has(name)) continue;
      seen.add(name);
      const path = join(dir, f);
      out.push({ name, source, path, boots: bootsOf(path) });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function bootsOf(path: string): string {
  try {
    const spec = readVmFile(path)[0]!.spec;
    if (spec.image !== undefined) return typeof spec.image === 'string' ? spec.image : spec.image.ref;
    return spec.kernel ? `kernel ${spec.kernel.path}` : '-';
  } catch (e) {
    return `(invalid: ${e instanceof Error ? e.message : String(e)})`;
  }
}

/** The template's fields (paths made absolute against its folder); its `name` is the caller's to replace. */
export function loadTemplate(paths: Pick<RoostPaths, 'config'>, name: string): VmSpec {
  checkTemplateName(name);
  for (const { dir } of templateDirs(paths)) {
    const path = join(dir, `${name}.yaml`);
    if (!existsSync(path)) continue;
    const vms = readVmFile(path);
    if (vms.length !== 1)
      throw new UsageError(
        'INVALID_TEMPLATE',
        `${path} describes ${vms.length} VMs: a template describes one`,
      );
    return withAbsolutePaths(vms[0]!.spec, dirname(path));
  }
  throw new UsageError('TEMPLATE_NOT_FOUND', `no template named '${name}'`, {
    hint: 'list them with: roost template ls',
  });
}
