// roost man: the manual page, in roff, made from the command tree itself (every command's --help, examples
// included), so it cannot drift from the program. `npm run build` writes it to man/roost.1, which the package
// installs as `man roost`.
import type { Command } from '@commander-js/extra-typings';
import { writeStdout } from '../stdio.js';

export function define(program: Command, wholeTable: () => Command): void {
  program
    .command('man')
    .description('print the roost(1) manual page (roff): roost man | man -l -')
    .addHelpText(
      'after',
      `
Examples:
  roost man | man -l -
  roost man > ~/.local/share/man/man1/roost.1`,
    )
    .action(async () => {
      const [{ VERSION }, help] = await Promise.all([import('../../version.js'), import('./help.js')]);
      writeStdout(manPage(wholeTable(), VERSION, help));
    });
}

type HelpModule = typeof import('./help.js');

/** The whole page: name, synopsis, the global options, then one section per command (subcommands too). */
export function manPage(root: Command, version: string, help: HelpModule): string {
  const commands = help.commandsOf(root).filter(({ cmd }) => cmd.name() !== 'help');
  const out = [
    `.TH ROOST 1 "" "roost ${version}" "User Commands"`,
    '.SH NAME',
    `roost \\- ${roffText(root.description())}`,
    '.SH SYNOPSIS',
    '.B roost',
    '[\\fIoptions\\fR] \\fIcommand\\fR [\\fIarguments\\fR]',
    '.br',
    '.B roost help',
    '\\fIcommand\\fR',
    '.SH DESCRIPTION',
    'Everything below is what each command prints for \\fB\\-\\-help\\fR.',
    '.PP',
    verbatim(help.helpTextOf(root)),
    '.SH COMMANDS',
    ...commands.flatMap(({ path, cmd }) => [`.SS "roost ${path.join(' ')}"`, verbatim(help.helpTextOf(cmd))]),
    '.SH EXIT STATUS',
    '0 ok, 1 the operation failed, 2 bad usage (nothing was changed); a command run in a guest',
    '(\\fBroost exec\\fR, \\fBroost ssh\\fR) passes its own code through.',
    '.SH FILES',
    '~/.config/roost (images.yaml, hosts.yaml), ~/.local/share/roost (disks, seeds, ssh keys),',
    '~/.cache/roost (images), ~/.local/state/roost (console logs).',
    '.SH SEE ALSO',
    '.BR virsh (1),',
    '.BR ssh (1)',
  ];
  return out.join('\n') + '\n';
}

/** Text kept exactly as printed: no filling, no hyphenation, roff's own characters escaped. */
function verbatim(text: string): string {
  const lines = text.replace(/\n+$/, '').split('\n').map(roffLine);
  return ['.nf', '.nh', ...lines, '.hy', '.fi'].join('\n');
}

function roffLine(line: string): string {
  const escaped = roffText(line);
  // A line starting with . or ' would be a request.
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function roffText(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
}
