// The layer rules of docs/architecture.md (Invariants), checked on every import in src/ and web/src/ — tests
// included, since a test that reaches upward ties the layers together just the same. The rules are by folder,
// not by file: a file moved inside its folder, or a new subfolder, needs no change here; a new top folder under
// src/ must be given a layer below (and in docs/architecture.md) before anything may import it.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Each part of the code and its layer: a file may import its own part and parts of a lower layer, never a
 * higher one. Parts on the same layer may use each other one way (the cycle rule below), as host uses domain-xml.
 */
const LAYERS: Readonly<Record<string, number>> = {
  // The front end that is the program: `roost web` starts the server, so cli sits above it.
  cli: 6,
  // The library entry (src/index.ts): nothing in the repo imports it.
  entry: 6,
  server: 5,
  // The terminal helpers: only cli may import them (rule below), so they sit above vm, beside server.
  term: 5,
  vm: 4,
  'domain-xml': 3,
  images: 3,
  'cloud-init': 3,
  net: 3,
  host: 3,
  kubevirt: 3,
  // The VM file's schema and reader (roost apply): pure, below vm which carries the plan out.
  declarative: 3,
  // src/*.ts: small pure helpers anyone may use (errors, paths, version, ip-literal…).
  leaf: 2,
  // A library of its own: imports nothing of roost, so every layer may use it.
  libvirt: 1,
  // The wire shapes, shared with the browser: imports nothing of roost and nothing of Node.
  shared: 1,
};

/** Parts that import no other part. */
const SELF_CONTAINED = new Set(['libvirt', 'shared']);
/** Parts that run in the browser: no Node built-ins. */
const BROWSER = new Set(['web', 'shared']);
/** Parts only one other part may import. */
const ONLY_IMPORTED_BY: Readonly<Record<string, string>> = { term: 'cli' };

interface Import {
  /** Repo-relative paths, '/'-separated. */
  from: string;
  to: string;
}

interface Graph {
  files: string[];
  /** Imports between files of this repo. */
  imports: Import[];
  /** Imports of Node built-ins, per file. */
  builtins: { from: string; module: string }[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => toRepoPath(join(e.parentPath, e.name)))
    .sort();
}

function toRepoPath(abs: string): string {
  return relative(ROOT, abs).split(sep).join('/');
}

/** The file a relative specifier names: `./x.js` is x.ts or x.tsx, a folder is its index.ts. */
function resolveSpecifier(fromFile: string, spec: string, known: ReadonlySet<string>): string | undefined {
  const base = toRepoPath(resolve(ROOT, dirname(fromFile), spec)).replace(/\.(js|jsx|ts|tsx)$/, '');
  return [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`].find((c) => known.has(c));
}

/** A stylesheet or data file the bundler loads: no code, no layer. */
function isAsset(spec: string): boolean {
  return /\.(css|json|svg|png|html)$/.test(spec);
}

/** Every import, export-from, import() and `import type` of every file in src/ and web/src/. */
function buildGraph(): Graph {
  const files = [...sourceFiles('src'), ...sourceFiles('web/src')];
  const known = new Set(files);
  const imports: Import[] = [];
  const builtins: Graph['builtins'] = [];
  for (const from of files) {
    const info = ts.preProcessFile(readFileSync(join(ROOT, from), 'utf8'), true, true);
    for (const { fileName: spec } of info.importedFiles) {
      if (spec.startsWith('.') && !isAsset(spec)) {
        const to = resolveSpecifier(from, spec, known);
        if (to === undefined) throw new Error(`${from}: cannot resolve '${spec}'`);
        imports.push({ from, to });
      } else if (spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0]!)) {
        builtins.push({ from, module: spec });
      }
    }
  }
  return { files, imports, builtins };
}

const NODE_BUILTINS: ReadonlySet<string> = new Set(builtinModules);

/** The part a file belongs to: its folder under src/ (src/libvirt/rpc/x.ts → libvirt), leaf, entry or web. */
function partOf(file: string): string {
  if (file.startsWith('web/')) return 'web';
  const parts = file.split('/');
  if (parts.length === 2) return file === 'src/index.ts' ? 'entry' : 'leaf';
  return parts[1]!;
}

function layerOf(part: string): number {
  const layer = LAYERS[part];
  if (layer === undefined) {
    throw new Error(
      `src/${part}/ has no layer: add it to LAYERS here and to docs/architecture.md (Invariants)`,
    );
  }
  return layer;
}

/** Each import that breaks a rule, as "from → to: why". */
function layerViolations(graph: Graph): string[] {
  const out: string[] = [];
  for (const { from, to } of graph.imports) {
    const a = partOf(from);
    const b = partOf(to);
    if (a === b) continue;
    const why = crossingProblem(a, b);
    if (why) out.push(`${from} → ${to}: ${why}`);
  }
  for (const { from, module } of graph.builtins) {
    // A test beside browser code runs in Node (vitest): it may read the docs it checks.
    if (BROWSER.has(partOf(from)) && !/\.test\.tsx?$/.test(from))
      out.push(`${from} → ${module}: ${partOf(from)} runs in the browser`);
  }
  return out;
}

function crossingProblem(a: string, b: string): string | undefined {
  if (a === 'web') return b === 'shared' ? undefined : 'the page imports only src/shared';
  if (b === 'web') return 'nothing imports the page';
  if (SELF_CONTAINED.has(a)) return `${a} imports nothing else of roost`;
  const only = ONLY_IMPORTED_BY[b];
  if (only !== undefined && a !== only) return `only ${only} imports ${b}`;
  if (layerOf(b) > layerOf(a))
    return `${a} (layer ${layerOf(a)}) imports ${b}, a higher layer (${layerOf(b)})`;
  return undefined;
}

/** Pairs of parts that import each other, directly or through others: "a ⇄ b (a/x.ts → b/y.ts; …)". */
function partCycles(graph: Graph): string[] {
  const edges = new Map<string, Map<string, string>>();
  for (const { from, to } of graph.imports) {
    const a = partOf(from);
    const b = partOf(to);
    if (a === b) continue;
    const out = edges.get(a) ?? new Map<string, string>();
    if (!out.has(b)) out.set(b, `${from} → ${to}`);
    edges.set(a, out);
  }
  return stronglyConnected(edges).map((parts) => {
    const examples = parts.flatMap((a) =>
      [...(edges.get(a) ?? [])].filter(([b]) => parts.includes(b)).map(([, example]) => example),
    );
    return `${parts.join(' ⇄ ')} (${examples.join('; ')})`;
  });
}

/**
 * Import cycles between files of different folders (server/app.ts ⇄ server/routes/vms.ts): a folder is one unit,
 * so files may lean on each other inside it, but what crosses a folder boundary must go one way.
 */
function fileCyclesAcrossFolders(graph: Graph): string[] {
  const edges = new Map<string, Map<string, string>>();
  for (const { from, to } of graph.imports) {
    const out = edges.get(from) ?? new Map<string, string>();
    out.set(to, `${from} → ${to}`);
    edges.set(from, out);
  }
  return stronglyConnected(edges)
    .filter((files) => new Set(files.map((f) => dirname(f))).size > 1)
    .map((files) => files.join(' ⇄ '));
}

/** Tarjan's algorithm: every group of two or more nodes that reach each other, each group sorted. */
function stronglyConnected(edges: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      group.push(w);
      if (w === v) break;
    }
    if (group.length > 1) groups.push(group.sort());
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return groups;
}

describe('layers (docs/architecture.md, Invariants)', () => {
  const graph = buildGraph();

  it('reads the imports it checks', () => {
    expect(graph.files.length).toBeGreaterThan(100);
    expect(graph.imports.length).toBeGreaterThan(300);
    expect(graph.files).toContain('web/src/main.tsx');
  });

  it('imports go down, never up: no part imports a higher layer', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('no two parts import each other', () => {
    expect(partCycles(graph)).toEqual([]);
  });

  it('no import cycle crosses a folder boundary', () => {
    expect(fileCyclesAcrossFolders(graph)).toEqual([]);
  });
});

describe('the layer rules themselves', () => {
  const graphOf = (imports: [string, string][]): Graph => ({
    files: [...new Set(imports.flat())],
    imports: imports.map(([from, to]) => ({ from, to })),
    builtins: [],
  });

  it('find an upward import, an import of term outside cli and one out of libvirt', () => {
    expect(
      layerViolations(
        graphOf([
          ['src/server/http-errors.ts', 'src/cli/errors.ts'],
          ['src/vm/input.ts', 'src/term/sanitize.ts'],
          ['src/libvirt/api.ts', 'src/errors.ts'],
          ['web/src/api.ts', 'src/vm/create.ts'],
          ['src/cli/main.ts', 'src/vm/create.ts'],
        ]),
      ),
    ).toEqual([
      'src/server/http-errors.ts → src/cli/errors.ts: server (layer 5) imports cli, a higher layer (6)',
      'src/vm/input.ts → src/term/sanitize.ts: only cli imports term',
      'src/libvirt/api.ts → src/errors.ts: libvirt imports nothing else of roost',
      'web/src/api.ts → src/vm/create.ts: the page imports only src/shared',
    ]);
  });

  it('find two parts of one layer that import each other, and a file cycle across folders', () => {
    const g = graphOf([
      ['src/domain-xml/check.ts', 'src/net/ip-literal.ts'],
      ['src/net/nic-xml.ts', 'src/domain-xml/xml.ts'],
      ['src/server/app.ts', 'src/server/routes/vms.ts'],
      ['src/server/routes/vms.ts', 'src/server/app.ts'],
      ['src/vm/create.ts', 'src/vm/input.ts'],
      ['src/vm/input.ts', 'src/vm/create.ts'],
    ]);
    expect(partCycles(g)).toEqual([
      'domain-xml ⇄ net (src/domain-xml/check.ts → src/net/ip-literal.ts; src/net/nic-xml.ts → src/domain-xml/xml.ts)',
    ]);
    expect(fileCyclesAcrossFolders(g)).toEqual(['src/server/app.ts ⇄ src/server/routes/vms.ts']);
  });

  it('refuse a new top folder that has no layer yet', () => {
    expect(() => layerViolations(graphOf([['src/vm/x.ts', 'src/daemon/y.ts']]))).toThrow(/has no layer/);
  });
});
