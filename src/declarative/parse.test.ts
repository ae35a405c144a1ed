import { describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES, parseVmFile, VmFileError } from './parse.js';

function problem(text: string): string {
  try {
    parseVmFile('vms.yaml', text);
  } catch (e) {
    expect(e).toBeInstanceOf(VmFileError);
    expect((e as VmFileError).exitCode).toBe(2);
    return (e as VmFileError).message;
  }
  throw new Error('parsed');
}

describe('parseVmFile', () => {
  it('reads one VM per document, --- between them', () => {
    const vms = parseVmFile('f', 'name: a\ncpus: 2\nmemory: 2G\n---\nname: b\nports: ["8080:80"]\n');
    expect(vms.map((v) => [v.spec, v.line])).toEqual([
      [{ name: 'a', cpus: 2, memory: '2G' }, 1],
      [{ name: 'b', ports: ['8080:80'] }, 5],
    ]);
  });

  it('names file, line, column and key of a wrong type, an unknown key and a bad value', () => {
    expect(problem('name: web\ncpus: two\n')).toBe(
      'vms.yaml:2:7: key `cpus`: expected number, got string "two"',
    );
    expect(problem('name: web\ncpuz: 2\n')).toMatch(
      /^vms\.yaml:2:1: key `cpuz`: unknown key; known keys: roost, name, /,
    );
    expect(problem('name: web\ncloudInit:\n  user: Root\n')).toBe(
      'vms.yaml:3:9: key `cloudInit.user`: a login name (lowercase letters, digits, _ and -)',
    );
    expect(problem('name: web\nports: ["8080:80", 7]\n')).toBe(
      'vms.yaml:2:20: key `ports[1]`: expected string, got number 7',
    );
    expect(problem('cpus: 1\n')).toBe('vms.yaml:1:1: key `name`: is missing (required)');
  });

  it('reads shared folders, and names the key of a wrong one', () => {
    const [vm] = parseVmFile(
      'f',
      'name: a\nmounts:\n  - {host: ./src, guest: /src, readOnly: true}\n  - host: ~/data\n',
    );
    expect(vm!.spec.mounts).toEqual([{ host: './src', guest: '/src', readOnly: true }, { host: '~/data' }]);
    expect(problem('name: web\nmounts:\n  - {host: ./src, ro: true}\n')).toBe(
      'vms.yaml:3:19: key `mounts[0].ro`: unknown key',
    );
    expect(problem('name: web\nmounts:\n  - {guest: /src}\n')).toBe(
      'vms.yaml:3:5: key `mounts[0].host`: is missing (required)',
    );
  });

  it('refuses duplicate keys, tabs and a VM described twice', () => {
    expect(problem('name: web\nname: db\n')).toBe(
      'vms.yaml:2:1: key `name`: a key is given twice in one mapping (YAML allows each key once)',
    );
    expect(problem('name: web\ncloudInit:\n\tuser: x\n')).toBe(
      'vms.yaml:3:1: a tab is used to indent: YAML indents with spaces only',
    );
    expect(problem('name: a\n---\nname: a\n')).toBe(
      "vms.yaml:3:1: key `name`: VM 'a' is described twice (first at line 1)",
    );
  });

  it('refuses alias bombs, deep nesting and huge files with a clear message', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'name: x',
    ].join('\n');
    expect(problem(bomb)).toMatch(/aliases expand too far \(at most 100\)/);
    expect(problem(`name: x\nkernel: ${'['.repeat(40)}${']'.repeat(40)}\n`)).toMatch(
      /nested deeper than 32 levels/,
    );
    expect(problem(`name: x\nkernel: ${'['.repeat(20000)}${']'.repeat(20000)}\n`)).toMatch(
      /nested too deeply/,
    );
    expect(problem(`name: x\n#${'x'.repeat(MAX_FILE_BYTES)}\n`)).toMatch(/over 1048576 bytes/);
    expect(problem('')).toMatch(/describes no VM/);
  });
});
