// ~/.ssh/config support: roost keeps an include file with one `Host NAME.roost` block per VM it can reach, so
// plain `ssh NAME.roost` (and scp, rsync, VS Code remote) work without roost in the loop — except for a bridged
// VM, whose address is only known when looked up: its block has roost as the ProxyCommand. The user's own
// ~/.ssh/config gets a single `Include` line, added once, at the top (ssh reads Include where it stands).
//
// Every value in a Host block may come from a domain definition (its name, its roost metadata, its port
// forwards), and any domain in the session can carry those — so nothing is written unchecked: a line of this
// file is code for ssh (ProxyCommand runs a shell), and a newline in a value would start a new `Host *` block
// that applies to every host the user ever reaches. Each value is checked against what its keyword can hold
// and written as one ssh_config argument; an entry with a value that fails is refused (SSH_CONFIG_BAD_VALUE),
// and the caller leaves that VM out and says why (vm/ssh.ts syncSshConfig).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writePrivateFile } from '../private-file.js';
import { RoostError } from '../errors.js';
import { ipVersion } from '../ip-literal.js';
import { SSH_USER_PATTERN } from '../ssh-user.js';

export interface SshHostEntry {
  alias: string;
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  knownHostsFile: string;
  /** A bridged VM's address is found at connect time: ssh runs this (`roost ssh NAME --proxy`) to reach it. */
  proxyCommand?: string;
}

/** A value that no ssh_config line can hold as it is: the entry it belongs to is not written. */
export class SshConfigValueError extends RoostError {
  constructor(message: string) {
    super('SSH_CONFIG_BAD_VALUE', message);
  }
}

/**
 * A Host alias is an ssh_config pattern: `*`, `?`, `!`, `,` and white space mean something there, so only a
 * plain name is allowed (what roost's own VM names are, plus `.roost`).
 */
export const SSH_ALIAS_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
/** A DNS-style host name, for a HostName that is not an IP address. */
const HOST_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A file path as one ssh_config argument. Refused: control characters (a newline ends the line), `"` and `\`
 * (quoting and escapes differ between OpenSSH versions), `%` and `${` (ssh expands tokens and environment
 * variables in IdentityFile and UserKnownHostsFile, so the file read would not be this one), and relative
 * paths. Quoted when it holds anything but plain path characters (a space, `#`, `'`, `=`).
 */
export function sshConfigPath(value: string, what: string): string {
  const refuse = (why: string) => new SshConfigValueError(`${what} ${JSON.stringify(value)} ${why}`);
  if (!value.startsWith('/')) throw refuse('is not an absolute path');
  if (CONTROL.test(value)) throw refuse('contains a control character');
  if (/["\\%]/.test(value) || value.includes('${'))
    throw refuse('contains " \\ % or ${, which ssh_config would change');
  return /^[A-Za-z0-9_./+,:@-]+$/.test(value) ? value : `"${value}"`;
}

function checkAlias(alias: string): string {
  if (!SSH_ALIAS_PATTERN.test(alias)) {
    throw new SshConfigValueError(
      `host alias ${JSON.stringify(alias)} is not a plain name (letters, digits, _ . -): ssh would read it as a pattern`,
    );
  }
  return alias;
}

function checkHost(host: string): string {
  const v = ipVersion(host);
  if ((v === 4 || v === 6) && !host.includes('%')) return host;
  if (v === 0 && HOST_NAME_PATTERN.test(host)) return host;
  throw new SshConfigValueError(`host ${JSON.stringify(host)} is neither an IP address nor a host name`);
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SshConfigValueError(`port ${String(port)} is not a TCP port`);
  }
  return port;
}

/** metadata.ts checks the user on read already; checked again here, where it becomes a line. */
function checkUser(user: string): string {
  if (!SSH_USER_PATTERN.test(user))
    throw new SshConfigValueError(`user ${JSON.stringify(user)} is not a user name`);
  return user;
}

/** proxyCommandText's output is the rest of its line: it must not hold a line break or other control character. */
function checkProxyCommand(command: string): string {
  if (CONTROL.test(command)) {
    throw new SshConfigValueError(`ProxyCommand ${JSON.stringify(command)} contains a control character`);
  }
  return command;
}

/** One entry's Host block; throws SshConfigValueError when any value cannot be written exactly. */
export function renderHostBlock(e: SshHostEntry): string {
  const alias = checkAlias(e.alias);
  return [
    `Host ${alias}`,
    `  HostName ${checkHost(e.host)}`,
    `  Port ${checkPort(e.port)}`,
    `  User ${checkUser(e.user)}`,
    ...(e.proxyCommand ? [`  ProxyCommand ${checkProxyCommand(e.proxyCommand)}`] : []),
    `  HostKeyAlias ${alias}`,
    `  UserKnownHostsFile ${sshConfigPath(e.knownHostsFile, 'known_hosts file')}`,
    '  StrictHostKeyChecking accept-new',
    // Lines roost can find by alias to forget them (Debian's ssh_config would hash them).
    '  HashKnownHosts no',
    ...(e.identityFile
      ? [`  IdentityFile ${sshConfigPath(e.identityFile, 'identity file')}`, '  IdentitiesOnly yes']
      : []),
  ].join('\n');
}

/** Why an entry cannot be written, or undefined when it can. */
export function sshHostEntryProblem(e: SshHostEntry): string | undefined {
  try {
    renderHostBlock(e);
    return undefined;
  } catch (err) {
    if (err instanceof SshConfigValueError) return err.message;
    throw err;
  }
}

const HEADER =
  '# Written by roost: one block per VM (ssh NAME.roost). Regenerated on create/rm/port changes; do not edit.\n';

/** The include file's text. Every entry must pass sshHostEntryProblem: a bad one throws, nothing is half-written. */
export function renderSshConfig(entries: SshHostEntry[]): string {
  return HEADER + entries.map(renderHostBlock).join('\n\n') + '\n';
}

function writePrivate(file: string, text: string): void {
  writePrivateFile(file, text, { makeParent: true });
}

/** Writes the include file and makes sure ~/.ssh/config includes it. Returns true when ~/.ssh/config changed. */
export function installSshConfig(includeFile: string, entries: SshHostEntry[], home = homedir()): boolean {
  writePrivate(includeFile, renderSshConfig(entries));
  const userConfig = join(home, '.ssh', 'config');
  const line = `Include ${sshConfigPath(includeFile, 'include file')}`;
  const current = existsSync(userConfig) ? readFileSync(userConfig, 'utf8') : '';
  if (current.split('\n').some((l) => l.trim() === line)) return false;
  writePrivate(userConfig, `# Added by roost: ssh NAME.roost reaches roost's VMs.\n${line}\n\n${current}`);
  return true;
}

/**
 * `ProxyCommand` text that runs argv: each word quoted for the shell ssh hands it to, `%` doubled for ssh. A word
 * with a control character cannot be one line of ssh_config: renderHostBlock refuses the result.
 */
export function proxyCommandText(argv: string[]): string {
  return argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`.replaceAll('%', '%%')).join(' ');
}
