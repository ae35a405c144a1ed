// roost's version, read once from package.json so there is one place to change it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';

function readVersion(): string {
  const root = packageRoot();
  if (!root) return '0.0.0';
  try {
    return (
      (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ??
      '0.0.0'
    );
  } catch {
    return '0.0.0';
  }
}

export const VERSION = readVersion();
