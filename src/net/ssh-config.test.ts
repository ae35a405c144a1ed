import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { installSshConfig, proxyCommandText, renderSshConfig } from './ssh-config.js';

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
