// hosts.yaml: parsing, validation, the private file it is written to, and -H NAME's resolution.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import {
  addHost,
  checkHostName,
  formatHosts,
  hostsFile,
  parseHosts,
  readHosts,
  removeHost,
  resolveHost,
} from './remote-hosts.js';

let dir: string;
let paths: { config: string };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-hosts-'));
  paths = { config: join(dir, 'config', 'roost') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('hosts.yaml', () => {
  it('reads a map of NAME: URI, and an empty or missing file as no hosts', () => {
    expect(parseHosts('hosts:\n  lab: qemu+ssh://alice@lab/session\n  nas: qemu:///session\n')).toEqual([
      { name: 'lab', uri: 'qemu+ssh://alice@lab/session' },
      { name: 'nas', uri: 'qemu:///session' },
    ]);
    expect(parseHosts('')).toEqual([]);
    expect(parseHosts('hosts:\n')).toEqual([]);
    expect(readHosts(paths)).toEqual([]);
  });

  it('refuses a file that is not a host list, naming the file and what is wrong', () => {
    const bad = (text: string) => () => parseHosts(text, '/x/hosts.yaml');
    expect(bad('hosts: [a, b]')).toThrow(/\/x\/hosts\.yaml is not a valid host list: 'hosts' must be a map/);
    expect(bad('hosts:\n  lab: 3\n')).toThrow(/host 'lab' must map to a URI string/);
    expect(bad('hosts:\n  lab: http://x/\n')).toThrow(/invalid libvirt URI/);
    expect(bad('hosts:\n  "a b": qemu:///session\n')).toThrow(/'a b' is not a valid host name/);
    expect(bad('hosts:\n  local: qemu:///session\n')).toThrow(/'local' is the name of this host/);
    expect(bad('hosts: {\n')).toThrow(UsageError);
  });

  it('accepts short names of letters, digits, - and _ only', () => {
    for (const ok of ['lab', 'nas-2', 'a_b', 'X1']) expect(checkHostName(ok)).toBe(ok);
    for (const bad of ['', '-x', 'a/b', 'a b', '$(id)', 'x'.repeat(33), 'Local']) {
      expect(() => checkHostName(bad)).toThrow(UsageError);
    }
  });

  it('add writes a private file (0600 in a 0700 dir) that reads back; a second add of the name is refused', () => {
    addHost(paths, 'lab', 'qemu+ssh://alice@lab/session');
    addHost(paths, 'nas', 'qemu+ssh://alice@nas:2222/session?keyfile=/k');
    expect(statSync(hostsFile(paths)).mode & 0o777).toBe(0o600);
    expect(statSync(paths.config).mode & 0o777).toBe(0o700);
    expect(readHosts(paths).map((h) => h.name)).toEqual(['lab', 'nas']);
    expect(readFileSync(hostsFile(paths), 'utf8')).toBe(formatHosts(readHosts(paths)));
    expect(() => addHost(paths, 'lab', 'qemu:///session')).toThrow(/already in the list/);
    expect(() => addHost(paths, 'bad', 'qemu+tls://x/session')).toThrow(UsageError);
    expect(readHosts(paths)).toHaveLength(2);
  });

  it('rm removes one host; an unknown one is refused listing the known', () => {
    addHost(paths, 'lab', 'qemu+ssh://alice@lab/session');
    addHost(paths, 'nas', 'qemu+ssh://alice@nas/session');
    expect(removeHost(paths, 'lab')).toEqual({ name: 'lab', uri: 'qemu+ssh://alice@lab/session' });
    expect(readHosts(paths).map((h) => h.name)).toEqual(['nas']);
    expect(() => removeHost(paths, 'lab')).toThrow(/no host named 'lab'/);
  });
});

describe('-H NAME', () => {
  it('resolves to the URI of the list', () => {
    writeFileSync(join(dir, 'x'), '');
    addHost(paths, 'lab', 'qemu+ssh://alice@lab/session');
    expect(resolveHost(paths, 'lab')).toBe('qemu+ssh://alice@lab/session');
  });

  it('an unknown name is a usage error (exit 2) that lists the known ones', () => {
    addHost(paths, 'lab', 'qemu+ssh://alice@lab/session');
    addHost(paths, 'nas', 'qemu+ssh://alice@nas/session');
    let err: unknown;
    try {
      resolveHost(paths, 'lbа');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).hint).toMatch(/known hosts: lab, nas/);
  });

  it('with an empty list, says how to add one', () => {
    expect(() => resolveHost(paths, 'lab')).toThrow(/no host named 'lab'/);
    try {
      resolveHost(paths, 'lab');
    } catch (e) {
      expect((e as UsageError).hint).toMatch(/roost hosts add NAME/);
    }
  });
});
