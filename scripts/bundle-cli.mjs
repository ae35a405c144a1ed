// Bundles the CLI (src/cli/main.ts) into dist/cli/main.js plus lazily loaded chunks, after tsc has built dist/.
//
// Why: Node's ESM loader resolves every module file on its own, and roost has ~150 of them plus its
// dependencies: that cost ~100 ms before `roost ls` could do anything (measured: `roost --version` 90 ms vs
// `node -e 0` 30 ms). One entry file with code-split chunks keeps commands' lazy imports lazy and makes start-up
// a few file reads. The library entry (dist/index.js) stays tsc's file-per-module output.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/cli/chunks', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Bundled CommonJS dependencies (commander, …) call require() for Node's built-ins: give ESM one.
  banner: {
    js: "import { createRequire as __roostRequire } from 'node:module'; const require = __roostRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
