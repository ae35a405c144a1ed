// The help of the command tree as text: each command's `--help` exactly as commander prints it (with the
// Examples block its define() adds), and the example command lines in it. `roost help COMMAND` is commander's
// own help command; the man page (man.ts) and the unit test that keeps every example valid read the same text.
import type { Command } from '@commander-js/extra-typings';

/** Every command below `root` with its path from the top: ['port', 'add'], … (help itself left out). */
export function commandsOf(root: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return (root.commands as Command[]).flatMap((sub) => {
    const p = [...path, sub.name()];
    return [{ path: p, cmd: sub }, ...commandsOf(sub, p)];
  });
}

/** What `roost PATH --help` prints, at a fixed width (the man page's, and the tests' no matter the terminal). */
export function helpTextOf(cmd: Command, width = 78): string {
  let text = '';
  cmd.configureHelp({ helpWidth: width });
  const saved = cmd.configureOutput();
  cmd.configureOutput({ ...saved, writeOut: (s) => void (text += s) });
  try {
    cmd.outputHelp();
  } finally {
    cmd.configureOutput(saved);
  }
  return text;
}

/** The lines of the help's Examples block (indented lines after "Examples:", up to the first unindented one). */
export function exampleLines(help: string): string[] {
  const at = help.indexOf('\nExamples:\n');
  if (at < 0) return [];
  const lines: string[] = [];
  for (const line of help.slice(at + '\nExamples:\n'.length).split('\n')) {
    if (!line.startsWith('  ')) break;
    lines.push(line.trim());
  }
  return lines;
}

/**
 * The arguments after `roost` in one example line, read as a shell would for the simple lines examples are:
 * quotes, a trailing `# comment` or a note after a wide gap, `&&` and a pipe into or out of roost, `> file`, `VAR=value` before it, `<(…)` around
 * it. Undefined when the line runs no roost command (plain `ssh web.roost`).
 */
export function exampleArgv(line: string): string[] | undefined {
  // A note beside an example is set off by a wide gap (or a #).
  const command = line.split(/ {3,}/)[0]!;
  const words = shellWords(command.replace(/^source <\((.*)\)$/, '$1'));
  for (const segment of splitOn(words, ['|', '&&'])) {
    const start = segment.findIndex((w) => w === 'roost');
    if (start < 0 || segment.slice(0, start).some((w) => !/^[A-Z_]+=/.test(w))) continue;
    const args = segment.slice(start + 1);
    const redirect = args.findIndex((w) => w === '>' || w === '>>');
    return redirect < 0 ? args : args.slice(0, redirect);
  }
  return undefined;
}

function splitOn(words: string[], seps: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const w of words) {
    if (seps.includes(w)) out.push([]);
    else out[out.length - 1]!.push(w);
  }
  return out;
}

/** Words split as a POSIX shell splits them, with quotes removed; an unquoted `#` starts a comment. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'" || ch === '"') {
      const end = line.indexOf(ch, i + 1);
      word = (word ?? '') + line.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? line.length : end;
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === '#' && word === undefined) break;
    else if (ch === '|' && word === undefined) words.push('|');
    else word = (word ?? '') + ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}
