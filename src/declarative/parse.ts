// Reading a roost VM file: YAML documents (one VM each) checked against the schema, every problem reported as
// FILE:LINE:COL: key `x`: what is wrong. The file is untrusted input (it may come from a repository): it is read
// with limits on its size, its aliases and its depth, and a file that breaks one is refused whole, before
// anything is changed.
import {
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
} from 'yaml';
import type * as z from 'zod';
import { UsageError } from '../errors.js';
import { MAX_FILE_BYTES } from './file-text.js';
import { VmSpecSchema, type VmSpec } from './schema.js';

export { MAX_FILE_BYTES };
/** The deepest nesting a VM file needs is 4 (cloudInit.runcmd[i][j]); 32 leaves room and stops a bomb. */
export const MAX_DEPTH = 32;
/** Aliases a file may expand: enough for shared snippets, too few for a billion-laughs bomb. */
export const MAX_ALIASES = 100;
/** VMs in one file. */
export const MAX_VMS = 256;

/** A problem in a VM file, at a place: the CLI prints "FILE:LINE:COL: key `x`: message". */
export interface FileProblem {
  line: number;
  col: number;
  key?: string;
  message: string;
}

export class VmFileError extends UsageError {
  constructor(
    readonly file: string,
    readonly problems: FileProblem[],
  ) {
    const lines = problems.map((p) => formatProblem(file, p));
    super('VM_FILE_INVALID', lines[0]!, {
      detail: lines.length > 1 ? lines.slice(1).join('\n') : undefined,
      hint: 'fix the file and apply it again: nothing was changed (the fields are in docs/apply.md)',
    });
  }
}

export function formatProblem(file: string, p: FileProblem): string {
  return `${file}:${p.line}:${p.col}: ${p.key === undefined ? '' : `key \`${p.key}\`: `}${p.message}`;
}

/** One VM of a file, with where its document starts (for messages about the VM as a whole). */
export interface FileVm {
  spec: VmSpec;
  file: string;
  line: number;
}

/** Parses the text of `file` (named as the user gave it, for messages); throws VmFileError. */
export function parseVmFile(file: string, text: string): FileVm[] {
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
    throw new VmFileError(file, [
      { line: 1, col: 1, message: `the file is over ${MAX_FILE_BYTES} bytes: a VM file is far smaller` },
    ]);
  }
  const counter = new LineCounter();
  const docs = parseDocuments(file, text, counter);
  const at = (offset: number) => counter.linePos(offset);
  const problems: FileProblem[] = [];
  const vms: FileVm[] = [];
  for (const doc of docs) {
    for (const e of [...doc.errors, ...doc.warnings]) {
      const { line, col } = at(e.pos[0]);
      const key = e.code === 'DUPLICATE_KEY' ? keyAt(text, e.pos[0]) : undefined;
      problems.push({ line, col, key, message: yamlMessage(e.code, e.message) });
    }
    if (doc.errors.length > 0 || doc.contents === null) continue;
    const depth = deepest(doc.contents);
    if (depth.depth > MAX_DEPTH) {
      problems.push({
        ...at(depth.offset),
        message: `nested deeper than ${MAX_DEPTH} levels: a VM file needs 4`,
      });
      continue;
    }
    const data = toData(file, doc, at);
    const parsed = VmSpecSchema.safeParse(data, { reportInput: true });
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((i) => issueProblem(doc, i, at)));
      continue;
    }
    vms.push({ spec: parsed.data, file, line: at(doc.contents.range?.[0] ?? 0).line });
  }
  if (problems.length > 0) throw new VmFileError(file, problems);
  checkNames(file, vms);
  return vms;
}

function parseDocuments(file: string, text: string, counter: LineCounter): Document[] {
  try {
    const docs = parseAllDocuments(text, {
      lineCounter: counter,
      uniqueKeys: true,
      prettyErrors: false,
      strict: true,
    });
    const list = Array.isArray(docs) ? docs : [];
    if (!Array.isArray(docs))
      throw new VmFileError(file, [{ line: 1, col: 1, message: 'not a YAML stream' }]);
    const nonEmpty = list.filter((d) => d.contents !== null || d.errors.length > 0);
    if (nonEmpty.length === 0) {
      throw new VmFileError(file, [
        { line: 1, col: 1, message: 'the file describes no VM: give at least `name:`' },
      ]);
    }
    if (nonEmpty.length > MAX_VMS) {
      throw new VmFileError(file, [{ line: 1, col: 1, message: `over ${MAX_VMS} VMs in one file` }]);
    }
    return nonEmpty;
  } catch (e) {
    // The parser recurses on nesting: a file of thousands of `[` exhausts the stack before any check of ours.
    if (e instanceof RangeError) {
      throw new VmFileError(file, [
        { line: 1, col: 1, message: `nested too deeply to read (at most ${MAX_DEPTH} levels)` },
      ]);
    }
    throw e;
  }
}

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return 'a key is given twice in one mapping (YAML allows each key once)';
  if (code === 'TAB_AS_INDENT') return 'a tab is used to indent: YAML indents with spaces only';
  if (/call stack/i.test(message)) return `nested too deeply to read (at most ${MAX_DEPTH} levels)`;
  return first;
}

/** The plain or quoted key that starts at `offset`. */
function keyAt(text: string, offset: number): string | undefined {
  return /^["']?([^"':\n]{1,64})/.exec(text.slice(offset, offset + 66))?.[1]?.trim();
}

/** The deepest collection in a document, walked without recursion (a hostile file must not exhaust the stack). */
function deepest(root: Node): { depth: number; offset: number } {
  let best = { depth: 0, offset: 0 };
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > best.depth) best = { depth, offset: node.range?.[0] ?? 0 };
    if (depth > MAX_DEPTH) break;
    for (const item of node.items) {
      if (isPair(item)) stack.push({ node: item.value, depth: depth + 1 });
      else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return best;
}

function toData(file: string, doc: Document, at: (o: number) => { line: number; col: number }): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/alias/i.test(message) || /Excessive/i.test(message)) {
      throw new VmFileError(file, [
        {
          ...at(doc.contents?.range?.[0] ?? 0),
          message: `aliases expand too far (at most ${MAX_ALIASES}): an alias bomb?`,
        },
      ]);
    }
    throw new VmFileError(file, [{ ...at(doc.contents?.range?.[0] ?? 0), message }]);
  }
}

/** A zod issue at the node its path names: an unknown key at that key, anything else at its value. */
function issueProblem(
  doc: Document,
  issue: z.core.$ZodIssue,
  at: (o: number) => { line: number; col: number },
): FileProblem {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const node = keyNode(doc, path, key);
    const known = knownKeys(path);
    return {
      ...at(node?.range?.[0] ?? 0),
      key: keyText([...path, key]),
      message: `unknown key${issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).join(', ')})` : ''}${known ? `; known keys: ${known}` : ''}`,
    };
  }
  const node = doc.getIn(path, true);
  const offset = isNode(node) ? (node.range?.[0] ?? 0) : (parentOffset(doc, path) ?? 0);
  return { ...at(offset), key: path.length > 0 ? keyText(path) : undefined, message: issueMessage(issue) };
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is missing (required)';
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, got ${typeName(issue.input)}`;
  return issue.message;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

function keyNode(doc: Document, path: (string | number)[], key: string): Node | undefined {
  const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
  return isNode(pair?.key) ? pair.key : undefined;
}

function parentOffset(doc: Document, path: (string | number)[]): number | undefined {
  for (let n = path.length - 1; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node)) return node.range?.[0];
  }
  return undefined;
}

function keyText(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function knownKeys(path: (string | number)[]): string | undefined {
  if (path.length === 0) return Object.keys(VmSpecSchema.shape).join(', ');
  if (path.length === 1 && path[0] === 'cloudInit') return 'user, sshKey, packages, runcmd, userData';
  if (path.length === 1 && path[0] === 'kernel') return 'path, initrd, cmdline';
  if (path.length === 1 && path[0] === 'image') return 'ref, sha256';
  return undefined;
}

/** The same name twice: in one file, the second document would silently win. */
function checkNames(file: string, vms: FileVm[]): void {
  const seen = new Map<string, number>();
  const problems: FileProblem[] = [];
  for (const vm of vms) {
    const first = seen.get(vm.spec.name);
    if (first !== undefined) {
      problems.push({
        line: vm.line,
        col: 1,
        key: 'name',
        message: `VM '${vm.spec.name}' is described twice (first at line ${first})`,
      });
    } else seen.set(vm.spec.name, vm.line);
  }
  if (problems.length > 0) throw new VmFileError(file, problems);
}
