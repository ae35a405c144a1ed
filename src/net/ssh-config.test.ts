import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installSshConfig, renderSshConfig } from './ssh-config.js';

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
