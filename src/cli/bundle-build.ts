// Which build of the CLI bundle runs: scripts/bundle-cli.mjs writes a hash of every file of the bundle into
// dist/cli/package.json as `roostBuild`. What roost keeps for one build only (apply's kept parses of VM files,
// src/vm/apply-read.ts) is kept under it, so that another build (a schema changed, limits changed) never uses it.
// This module runs from dist/cli/chunks/, so the file is one folder up. From the sources (tsx) there is no such
// file: undefined, and nothing is kept.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function bundleBuild(): string | undefined {
  try {
    const file = fileURLToPath(new URL('../package.json', import.meta.url));
    const build = (JSON.parse(readFileSync(file, 'utf8')) as { roostBuild?: unknown }).roostBuild;
    return typeof build === 'string' && /^[0-9a-f]{32}$/.test(build) ? build : undefined;
  } catch {
    return undefined;
  }
}
