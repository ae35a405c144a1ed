// Bundles the CLI into dist/cli/main.js (src/cli/bin.ts: the executable) plus lazily loaded chunks, as CommonJS.
//
// Why a bundle: Node resolves every module file on its own, and roost has well over a hundred of them plus its
// dependencies: that cost most of `roost ls`'s start-up before it could do anything. esbuild's code splitting keeps each command's lazy
// imports lazy, with every module in exactly one chunk (one copy of each error class, so `instanceof` holds).
//
// Why CommonJS: Node's ESM loader costs more than require() for the same chunks (resolving URLs, module jobs,
// linking), and only CommonJS lets roost hand V8 the code it
// compiled last time (src/cli/compile-cache.ts): Node 20 has no compile cache of its own.
// esbuild splits only ES modules, so the chunks are built as ESM and each file is then rewritten to CommonJS on
// its own: static imports become require(), `import()` becomes a deferred require(), exports stay live getters.
// dist/cli/package.json tells Node these .js files are CommonJS; the library (dist/*, ESM) does not use them.
import { createHash } from 'node:crypto';
import { build, transform } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';

const OUT = 'dist/cli';

// commander requires node:child_process at load, only for executable subcommands (`spawn`), which roost does
// not use. child_process loads net, dgram and the stream machinery, a cost on every command. Hand
// commander an object that loads it on first use instead.
function lazyChildProcessForCommander() {
  return {
    name: 'lazy-child-process-for-commander',
    setup(b) {
      b.onResolve({ filter: /^node:child_process$/ }, (args) =>
        /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
          ? { path: 'child_process', namespace: 'roost-lazy' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'roost-lazy' }, () => ({
        contents: 'module.exports = { get spawn() { return require("node:child_process").spawn; } };',
        loader: 'js',
      }));
    },
  };
}

rmSync(OUT, { recursive: true, force: true });
const result = await build({
  // Only the executable keeps a fixed name. Everything else, main.ts included, is a chunk named after a hash of
  // its content: the compile cache (src/cli/compile-cache.ts) uses those names as its keys.
  entryPoints: { main: 'src/cli/bin.ts' },
  outdir: OUT,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  // package-root.ts finds the package from its own location: in CommonJS that is __filename.
  define: { 'import.meta.url': '__roostModuleUrl' },
  plugins: [lazyChildProcessForCommander()],
  logLevel: 'warning',
});

// ES modules are always strict; the rewritten CommonJS must say so itself (esbuild's transform does not).
const STRICT = '"use strict";\n';
const MODULE_URL = 'const __roostModuleUrl = require("node:url").pathToFileURL(__filename).href;\n';
// The build: a hash of every file of the bundle (their names hash their contents), for what roost keeps for one
// build only (src/cli/bundle-build.ts).
const buildHash = createHash('sha256');
for (const file of result.outputFiles) {
  const { code } = await transform(file.text, {
    format: 'cjs',
    target: 'node20',
    platform: 'node',
    // import() of a chunk becomes Promise.resolve().then(() => require(chunk)): no ESM loader at all.
    supported: { 'dynamic-import': false },
    logLevel: 'warning',
  });
  const usesUrl = code.includes('__roostModuleUrl');
  const hashbang = code.startsWith('#!') ? code.slice(0, code.indexOf('\n') + 1) : '';
  const body = code.slice(hashbang.length);
  mkdirSync(dirname(file.path), { recursive: true });
  const text = hashbang + STRICT + (usesUrl ? MODULE_URL : '') + body;
  writeFileSync(file.path, text, { mode: hashbang ? 0o755 : 0o644 });
  buildHash.update(`${relative(OUT, file.path)}\0${text}\0`);
}
const roostBuild = buildHash.digest('hex').slice(0, 32);
writeFileSync(`${OUT}/package.json`, JSON.stringify({ type: 'commonjs', roostBuild }, null, 2) + '\n');
