// ~/.ssh/config support: roost keeps an include file with one `Host NAME.roost` block per VM it can reach, so
// plain `ssh NAME.roost` (and scp, rsync, VS Code remote) work without roost in the loop — except for a bridged
// VM, whose address is only known when looked up: its block has roost as the ProxyCommand. The user's own
// ~/.ssh/config gets a single `Include` line, added once, at the top (ssh reads Include where it stands).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

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

const HEADER =
  '# Written by roost: one block per VM (ssh NAME.roost). Regenerated on create/rm/port changes; do not edit.\n';

export function renderSshConfig(entries: SshHostEntry[]): string {
  const q = (s: string) => (/[\s"]/.test(s) ? `"${s}"` : s);
  return (
    HEADER +
    entries
      .map((e) =>
        [
          `Host ${e.alias}`,
          `  HostName ${e.host}`,
          `  Port ${e.port}`,
          `  User ${e.user}`,
          ...(e.proxyCommand ? [`  ProxyCommand ${e.proxyCommand}`] : []),
          `  HostKeyAlias ${e.alias}`,
          `  UserKnownHostsFile ${q(e.knownHostsFile)}`,
          '  StrictHostKeyChecking accept-new',
          ...(e.identityFile ? [`  IdentityFile ${q(e.identityFile)}`, '  IdentitiesOnly yes'] : []),
        ].join('\n'),
      )
      .join('\n\n') +
    '\n'
  );
}

function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Writes the include file and makes sure ~/.ssh/config includes it. Returns true when ~/.ssh/config changed. */
export function installSshConfig(includeFile: string, entries: SshHostEntry[], home = homedir()): boolean {
  writePrivate(includeFile, renderSshConfig(entries));
  const userConfig = join(home, '.ssh', 'config');
  const line = `Include ${includeFile}`;
  const current = existsSync(userConfig) ? readFileSync(userConfig, 'utf8') : '';
  if (current.split('\n').some((l) => l.trim() === line)) return false;
  writePrivate(userConfig, `# Added by roost: ssh NAME.roost reaches roost's VMs.\n${line}\n\n${current}`);
  return true;
}

/** `ProxyCommand` text that runs argv: each word quoted for the shell ssh hands it to, `%` doubled for ssh. */
export function proxyCommandText(argv: string[]): string {
  return argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`.replaceAll('%', '%%')).join(' ');
}
