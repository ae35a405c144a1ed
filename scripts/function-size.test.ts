// Small use cases (issue 21): in the layers below, no function over 80 lines and no file much over 400, so that
// each step has a name. Counted with the TypeScript compiler's own parse; tests and test support are exempt.
// The folders not yet listed here (libvirt, images, domain-xml) have their own long functions still to split.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const FOLDERS = ['src/vm', 'src/host', 'src/net', 'src/cloud-init', 'src/server', 'src/cli', 'src/term'];
const MAX_FUNCTION_LINES = 80;
const MAX_FILE_LINES = 410;
/** Files whose long functions are known and still to split: remove an entry once they are. */
const KNOWN_LONG = new Set<string>([]);

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    const isTest = /\.test\.tsx?$/.test(e.name) || e.name === 'testing.ts';
    return /\.tsx?$/.test(e.name) && !isTest ? [path] : [];
  });
}

/** Functions longer than the limit, as 'file name (N lines)'; an arrow function inside one is counted too. */
function longFunctions(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const name = functionName(n);
      if (last - first + 1 > MAX_FUNCTION_LINES) {
        found.push(`${file} ${name} (${last - first + 1} lines)`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

function functionName(n: ts.Node): string {
  const own = (n as { name?: ts.Node }).name;
  if (own) return own.getText();
  const parent = n.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText();
  return '<anonymous>';
}

describe('small use cases', () => {
  const files = FOLDERS.flatMap(sourceFiles);

  it(`no function over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files.filter((f) => !KNOWN_LONG.has(f)).flatMap(longFunctions)).toEqual([]);
    // It parses every source file of seven folders: more than a unit test's usual few milliseconds.
  }, 30_000);

  it(`no file over ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(join(ROOT, f), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ f, lines }) => `${relative(ROOT, join(ROOT, f))} (${lines} lines)`);
    expect(long).toEqual([]);
  });
});
