import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  installSshConfig,
  proxyCommandText,
  renderHostBlock,
  renderSshConfig,
  sshHostEntryProblem,
  SshConfigValueError,
  type SshHostEntry,
} from './ssh-config.js';

const home = mkdtempSync(join(tmpdir(), 'roost-ssh-config-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const entry = {
  alias: 'web.roost',
  host: '127.0.0.1',
  port: 2222,
  user: 'debian',
  identityFile: '/home/me/.local/share/roost/ssh/id_ed25519',
  knownHostsFile: '/home/me/.local/share/roost/ssh/known_hosts',
};

describe('ssh config', () => {
  it('renders one Host block per VM', () => {
    const text = renderSshConfig([entry]);
    expect(text).toMatch(/^Host web\.roost\n {2}HostName 127\.0\.0\.1\n {2}Port 2222\n {2}User debian\n/m);
    expect(text).toContain('IdentityFile /home/me/.local/share/roost/ssh/id_ed25519');
  });

  it('renders a bridged VM with roost as its ProxyCommand', () => {
    const text = renderSshConfig([
      { ...entry, host: 'web.roost', port: 22, proxyCommand: "'/usr/bin/node' 'main.js' ssh web --proxy" },
    ]);
    expect(text).toContain(
      "  ProxyCommand '/usr/bin/node' 'main.js' ssh web --proxy\n  HostKeyAlias web.roost",
    );
  });

  it("quotes a ProxyCommand's words for the shell and doubles % for ssh", () => {
    const argv = ['/opt/my node/bin/node', "it's", 'qemu:///session?socket=/run/a%20b', '$HOME', '`x`'];
    const text = proxyCommandText(argv);
    expect(text).toContain('%%20');
    // What ssh does with it: expand %% to %, then hand the line to the shell.
    const echoed = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${text.replaceAll('%%', '%')}`], {
      encoding: 'utf8',
    });
    expect(echoed.split('\n').slice(0, -1)).toEqual(argv);
  });

  it('adds the Include line once, on top, keeping what the user had', () => {
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'config'), 'Host myserver\n  User me\n');
    const include = join(home, 'roost', 'config');
    expect(installSshConfig(include, [entry], home)).toBe(true);
    expect(installSshConfig(include, [entry], home)).toBe(false);
    const cfg = readFileSync(join(home, '.ssh', 'config'), 'utf8');
    expect(cfg.split('\n').filter((l) => l === `Include ${include}`)).toHaveLength(1);
    expect(cfg.indexOf('Include')).toBeLessThan(cfg.indexOf('Host myserver'));
    expect(cfg).toContain('Host myserver\n  User me\n');
    expect(statSync(include).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.ssh', 'config')).mode & 0o777).toBe(0o600);
  });
});

// What ssh itself makes of a config file: `ssh -G` prints the options it would use for a host, lower-cased keys.
function sshG(config: string, host: string): Map<string, string[]> {
  const file = join(home, `g-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, config, { mode: 0o600 });
  const out = execFileSync('ssh', ['-G', '-F', file, host], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const opts = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const k = line.slice(0, sp);
    opts.set(k, [...(opts.get(k) ?? []), line.slice(sp + 1)]);
  }
  return opts;
}

// Every character ssh_config, a shell or a terminal gives a meaning to, and a few whole attacks.
const METACHARACTERS = [
  '\n',
  '\r',
  '\t',
  ' ',
  '\0',
  '\x1b',
  '\x7f',
  '\u0085',
  '#',
  '"',
  "'",
  '\\',
  '%',
  '%h',
  '%%',
  '${HOME}',
  '$HOME',
  '*',
  '?',
  '!',
  ',',
  '=',
  ';',
  '|',
  '&',
  '`',
  '$(id)',
  '<',
  '>',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '~',
  '@',
  ':',
  '\nHost *\n  ProxyCommand touch /tmp/x',
  '\nMatch all',
  '\rProxyCommand x',
];

describe('ssh config writer against hostile values', () => {
  const good: SshHostEntry = { ...entry };
  const problem = (e: Partial<SshHostEntry>) => sshHostEntryProblem({ ...good, ...e });

  it.each(METACHARACTERS)('refuses a user or a host alias with %j', (c) => {
    expect(problem({ user: `bob${c}` })).toMatch(/not a user name/);
    expect(problem({ alias: `web${c}.roost` })).toMatch(/not a plain name/);
    expect(problem({ host: `127.0.0.1${c}` })).toMatch(/neither an IP address nor a host name/);
    expect(() => renderSshConfig([{ ...good, user: `bob${c}` }])).toThrow(SshConfigValueError);
  });

  it.each(METACHARACTERS)('writes a key path with %j exactly as ssh reads it, or refuses it', (c) => {
    const identityFile = `/keys/a${c}b/id`;
    const why = problem({ identityFile });
    if (why !== undefined) {
      expect(why).toMatch(/control character|" \\ % or \$\{/);
      return;
    }
    const g = sshG(renderSshConfig([{ ...good, identityFile }]), 'web.roost');
    expect(g.get('identityfile')).toEqual([identityFile]);
    expect(g.get('user')).toEqual(['debian']);
    expect(g.get('proxycommand')).toBeUndefined();
  });

  it('refuses a relative or control-character path, and a ProxyCommand word with a line break', () => {
    expect(problem({ identityFile: 'id_ed25519' })).toMatch(/not an absolute path/);
    expect(problem({ knownHostsFile: '/a\nHost *' })).toMatch(/control character/);
    expect(problem({ port: 0 })).toMatch(/not a TCP port/);
    expect(problem({ port: 1.5 })).toMatch(/not a TCP port/);
    const proxyCommand = proxyCommandText([
      '/usr/bin/node',
      'main.js',
      'ssh',
      'a\nHost *\n  ProxyCommand touch /tmp/x',
    ]);
    expect(problem({ proxyCommand })).toMatch(/control character/);
  });

  it('the issue 15 payload: no block applies to other hosts, the good entries stay exact', () => {
    const evil = { ...good, alias: 'evil.roost', user: 'bob\nHost *\n  ProxyCommand touch /tmp/x' };
    expect(() => renderHostBlock(evil)).toThrow(SshConfigValueError);
    const kept = [good, evil].filter((e) => sshHostEntryProblem(e) === undefined);
    const text = renderSshConfig(kept);
    const other = sshG(text, 'unrelated.example.org');
    expect(other.get('proxycommand')).toBeUndefined();
    expect(other.get('user')).not.toEqual(['bob']);
    const web = sshG(text, 'web.roost');
    expect(web.get('hostname')).toEqual(['127.0.0.1']);
    expect(web.get('port')).toEqual(['2222']);
    expect(web.get('user')).toEqual(['debian']);
    expect(web.get('stricthostkeychecking')).toEqual(['accept-new']);
    // A system ssh_config that hashes (Debian's) comes after roost's block, which wins.
    const debian = sshG(`${text}\nHost *\n  HashKnownHosts yes\n`, 'web.roost');
    expect(debian.get('hashknownhosts')).toEqual(['no']);
  });

  it('quotes a path with a space so ssh reads it whole', () => {
    const knownHostsFile = '/home/me/My Data/roost/known_hosts';
    const g = sshG(renderSshConfig([{ ...good, knownHostsFile }]), 'web.roost');
    expect(g.get('userknownhostsfile')).toEqual([knownHostsFile]);
  });
});
