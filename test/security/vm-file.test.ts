// Hostile VM files through the built `roost apply`, and hostile template names through `roost create
// --template`, run as the unprivileged test user: each is refused with exit 2 and one clear line naming the
// file (and, for YAML, line, column and key), with nothing changed (same domains, volumes and roost files).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createScope, harness, roost } from '../harness/index.js';
import { expectCleanMessage, inventory, type Inventory } from './battery.js';

const { user, uri } = harness();
const scope = createScope('sec-vmfile', user, uri);
let baseline: Inventory;

function file(name: string, text: string): string {
  const path = join(scope.dir, name);
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

const bomb = [
  'a: &a [x, x, x, x, x, x, x, x, x, x]',
  'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
  'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
  `name: ${scope.name('x')}`,
].join('\n');

const CASES: [string, string, RegExp][] = [
  ['an alias bomb', bomb, /bomb\.yaml:1:1: aliases expand too far/],
  [
    'deep nesting',
    `name: x\nkernel: ${'['.repeat(30000)}${']'.repeat(30000)}\n`,
    /deep\.yaml:2:\d+: nested too deeply/,
  ],
  [
    'a huge file',
    `name: x\n#${'x'.repeat(3 * 1024 ** 2)}\n`,
    /huge\.yaml is \d+ bytes: a VM file is at most 1048576/,
  ],
  ['a tab', `name: x\ncloudInit:\n\tuser: x\n`, /tab\.yaml:3:1: a tab is used to indent/],
  [
    'a duplicate key',
    `name: x\nmemory: 1G\nmemory: 64G\n`,
    /dup\.yaml:3:1: key `memory`: a key is given twice/,
  ],
  ['a wrong type', `name: x\ncpus: [1]\n`, /type\.yaml:2:7: key `cpus`: expected number, got a list/],
  [
    'an unknown key',
    `name: x\nqemuArgs: [-device, evil]\n`,
    /unknown\.yaml:2:1: key `qemuArgs`: unknown key/,
  ],
  ['a hostile name', `name: "../../x\\n"\n`, /name\.yaml:1:7: key `name`: 1–63 letters/],
];
const FILES = ['bomb', 'deep', 'huge', 'tab', 'dup', 'type', 'unknown', 'name'];

beforeAll(async () => {
  baseline = await inventory(uri, user, []);
});

describe('hostile VM files', () => {
  it.each(CASES.map((c, i) => [c[0], FILES[i]!, c[1], c[2]] as const))(
    '%s',
    async (_label, name, text, message) => {
      const path = file(`${name}.yaml`, text);
      const r = await roost(user, ['apply', path], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expectCleanMessage(r.stderr);
      expect(r.stdout).toBe('');
      expect(await inventory(uri, user, [])).toEqual(baseline);
    },
  );

  it('a device instead of a file is not read', async () => {
    const r = await roost(user, ['apply', '/dev/zero']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/dev\/zero is not a regular file/);
  });

  it.each(['../../../etc/passwd', '/etc/passwd', '..', 'a/b'])('template name %s is refused', async (t) => {
    const r = await roost(user, ['create', scope.name('t'), '--template', t, '--no-start']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/invalid template name/);
    expect(await inventory(uri, user, [])).toEqual(baseline);
  });
});
