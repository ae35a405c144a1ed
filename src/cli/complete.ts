// What Tab offers on a roost command line, worked out from the commander program itself: its commands,
// subcommands, options, option choices and arguments — the one command table, so a new command or option
// completes without a list kept by hand. The shell scripts (complete-scripts.ts) hand the line's words to
// `roost __complete` and show what this returns; live values (VM names, snapshots, images, hosts) come from
// the LiveValues given, which is where the daemon is asked.
import type { Argument, Command, Option } from '@commander-js/extra-typings';
import { escapeUnsafeChars, hasUnsafeChars } from '../unsafe-chars.js';

/** What kind of value an argument or option takes, for the live values behind it. */
export type ValueKind = 'vm' | 'snapshot' | 'image' | 'host' | 'file' | 'new' | 'none';

export interface Candidate {
  value: string;
  description?: string;
}

/** The live values completion offers; each failure (no daemon, no file) is an empty list, never an error. */
export interface LiveValues {
  vms(): Promise<string[]>;
  snapshots(vm: string): Promise<string[]>;
  images(): Promise<string[]>;
  hosts(): Promise<string[]>;
}

export interface Completion {
  candidates: Candidate[];
  /** The shell should offer file names as well (a path argument, or the command after `--`). */
  files: boolean;
}

/** Where the line's words left off: the command they name, its operands so far, and what the last word is. */
interface LineState {
  cmd: Command;
  /** The command path below the program, e.g. ['snapshot', 'revert']. */
  path: string[];
  operands: string[];
  /** The option whose value the current word is, if any. */
  valueFor?: Option;
  afterDashDash: boolean;
}

/**
 * Argument kinds that the argument's name alone does not tell, by command path and argument name: names the
 * user makes up, and the hosts table's own names.
 */
const ARGUMENT_KIND_BY_PATH: Readonly<Record<string, ValueKind>> = {
  'create name': 'new',
  'clone name': 'new',
  'snapshot create snap': 'new',
  'image import path': 'file',
  'hosts add name': 'new',
  'hosts rm name': 'host',
};

/** Argument kinds by the argument's name, everywhere else. */
const ARGUMENT_KIND_BY_NAME: Readonly<Record<string, ValueKind>> = {
  name: 'vm',
  source: 'vm',
  snap: 'snapshot',
  ref: 'image',
  path: 'file',
  file: 'file',
  host: 'host',
  command: 'file',
};

/** The words after `roost` up to the cursor; the last one is the word being completed (maybe empty). */
export async function complete(
  program: Command,
  words: readonly string[],
  live: LiveValues,
): Promise<Completion> {
  const current = words.length ? words[words.length - 1]! : '';
  const state = walk(program, words.slice(0, -1));
  const found = await candidatesFor(state, current, live);
  return {
    candidates: found.candidates.filter((c) => c.value.startsWith(current)),
    files: found.files,
  };
}

function walk(program: Command, words: readonly string[]): LineState {
  const state: LineState = { cmd: program, path: [], operands: [], afterDashDash: false };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    state.valueFor = undefined;
    if (state.afterDashDash) state.operands.push(w);
    else if (w === '--') state.afterDashDash = true;
    else if (w.startsWith('-') && w.length > 1) state.valueFor = optionTakingValue(state.cmd, w);
    else if (state.operands.length === 0 && subcommand(state.cmd, w)) {
      state.cmd = subcommand(state.cmd, w)!;
      state.path.push(state.cmd.name());
    } else state.operands.push(w);
    // The word after an option that takes a value is that value, whatever it looks like.
    if (state.valueFor && i < words.length - 1) {
      i++;
      state.valueFor = undefined;
    }
  }
  return state;
}

function subcommand(cmd: Command, word: string): Command | undefined {
  return (cmd.commands as Command[]).find((c) => c.name() === word || c.aliases().includes(word));
}

/** The options in force at `cmd`: its own and those of every command above it (the global ones). */
function optionsInScope(cmd: Command): Option[] {
  const all: Option[] = [];
  for (let c: Command | null = cmd; c; c = c.parent as Command | null) all.push(...(c.options as Option[]));
  return all;
}

/** The option `word` names when it takes its value from the next word (not `--opt=value`, not a flag). */
function optionTakingValue(cmd: Command, word: string): Option | undefined {
  if (word.includes('=')) return undefined;
  const o = optionsInScope(cmd).find((opt) => opt.long === word || opt.short === word);
  return o && (o.required || o.optional) ? o : undefined;
}

async function candidatesFor(state: LineState, current: string, live: LiveValues): Promise<Completion> {
  if (state.valueFor)
    return valuesOf(optionValueKind(state.valueFor), state.valueFor.argChoices, state, live);
  if (!state.afterDashDash && current.startsWith('-'))
    return { candidates: optionsOf(state.cmd), files: false };
  const subs = visibleSubcommands(state.cmd);
  if (subs.length > 0 && state.operands.length === 0) return { candidates: subs, files: false };
  // commander's own help command (not in the tree until it runs): `roost help ls`, `roost snapshot help create`.
  if (subs.length > 0 && state.operands.length === 1 && state.operands[0] === 'help')
    return { candidates: subs.filter((c) => c.value !== 'help'), files: false };
  const arg = argumentAt(state.cmd, state.operands.length);
  if (!arg) return { candidates: [], files: false };
  return valuesOf(argumentKind(state.path, arg), arg.argChoices, state, live);
}

function visibleSubcommands(cmd: Command): Candidate[] {
  return cmd
    .createHelp()
    .visibleCommands(cmd as never)
    .map((c) => ({ value: c.name(), description: c.summary() || c.description() }));
}

/** Long options (short ones when there is no long form) of the command and above, `--help` included. */
function optionsOf(cmd: Command): Candidate[] {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (let c: Command | null = cmd; c; c = c.parent as Command | null) {
    for (const o of c.createHelp().visibleOptions(c as never)) {
      const flag = o.long ?? o.short;
      if (!flag || seen.has(flag)) continue;
      seen.add(flag);
      out.push({ value: flag, description: o.description });
    }
  }
  return out;
}

function argumentAt(cmd: Command, index: number): Argument | undefined {
  const args = cmd.registeredArguments as readonly Argument[];
  if (index < args.length) return args[index];
  const last = args[args.length - 1];
  return last?.variadic ? last : undefined;
}

export function argumentKind(path: readonly string[], arg: Argument): ValueKind {
  return (
    ARGUMENT_KIND_BY_PATH[`${path.join(' ')} ${arg.name()}`] ?? ARGUMENT_KIND_BY_NAME[arg.name()] ?? 'none'
  );
}

/** An option's kind from its flags and the name of its value (`--image <ref|path>`: images and files). */
export function optionValueKind(o: Option): ValueKind | 'image+file' {
  if (o.long === '--host' || o.short === '-H') return 'host';
  const placeholder = /<([^>]*)>|\[([^\]]*)\]/.exec(o.flags);
  const what = placeholder?.[1] ?? placeholder?.[2] ?? '';
  const image = /\bref\b/.test(what);
  const file = /\b(path|file|dir)\b/.test(what);
  return image && file ? 'image+file' : image ? 'image' : file ? 'file' : 'none';
}

async function valuesOf(
  kind: ValueKind | 'image+file',
  choices: readonly string[] | undefined,
  state: LineState,
  live: LiveValues,
): Promise<Completion> {
  const plain = (values: string[], files = false): Completion => ({
    candidates: values.map((value) => ({ value })),
    files,
  });
  if (choices?.length) return plain([...choices]);
  switch (kind) {
    case 'vm':
      return plain(await live.vms());
    case 'snapshot':
      return plain(state.operands[0] ? await live.snapshots(state.operands[0]) : []);
    case 'image':
      return plain(await live.images());
    case 'image+file':
      return plain(await live.images(), true);
    case 'host':
      return plain(await live.hosts());
    case 'file':
      return plain([], true);
    default:
      return plain([]);
  }
}

/**
 * How the shells read `roost __complete`'s answer: one candidate a line (the value, then a tab and its
 * description), then a directive line (`:files` or `:plain`). Names come from what anyone in the session may
 * have defined: a name with an unsafe character (an escape sequence, a newline, a bidi override) is left out,
 * never put on the user's command line; a description has them escaped.
 */
export function formatCompletion(c: Completion): string {
  const lines = c.candidates
    .filter((x) => !hasUnsafeChars(x.value))
    .map((x) => (x.description ? `${x.value}\t${escapeUnsafeChars(x.description)}` : x.value));
  lines.push(c.files ? ':files' : ':plain');
  return lines.join('\n') + '\n';
}
