// Where roost's package lives, found by walking up from this module to the package.json named "roost". Works
// the same from src/ (tsx), from dist/ file by file (tsc) and from the bundled CLI (dist/cli/chunks/), so files
// shipped beside the code (package.json, dist/web, scripts/setup-host.sh) are found wherever the code runs from.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null | undefined;

export function packageRoot(): string | null {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'roost')
          return (cached = dir);
      } catch {
        // Not ours or unreadable: keep walking up.
      }
    }
    const up = dirname(dir);
    if (up === dir) return (cached = null);
    dir = up;
  }
}

/** The built CLI's entry file (dist/cli/main.js), for commands roost starts or writes into other programs'
 * configuration; undefined when roost runs without its build (tests from src/ before `npm run build`). */
export function cliEntryFile(): string | undefined {
  const root = packageRoot();
  const file = root === null ? undefined : join(root, 'dist', 'cli', 'main.js');
  return file !== undefined && existsSync(file) ? file : undefined;
}
