// Writes man/roost.1 from the built CLI (`roost man`: the page is made from the command tree), as the last step
// of `npm run build`. A unit test (src/cli/commands/help.test.ts) fails when the committed page is stale.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const page = execFileSync(process.execPath, ['dist/cli/main.js', 'man'], {
  encoding: 'utf8',
  env: { ...process.env, COLUMNS: '80' },
});
mkdirSync('man', { recursive: true });
writeFileSync('man/roost.1', page, { mode: 0o644 });
