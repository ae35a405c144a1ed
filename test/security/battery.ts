// Shared by the hostile-input battery: what "nothing changed" means (an inventory of the user's VMs, volumes
// and roost files, taken through independent witnesses), the hostile files a test points roost at, and the
// checks every refusal must pass (one clear line, no stack trace, no "INTERNAL").
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { roostPaths } from '../../src/paths.js';
import {
  domainNames,
  freePort,
  poolNames,
  roost,
  runAs,
  userEnv,
  virsh,
  volumeNames,
  type TestScope,
  type TestUser,
} from '../harness/index.js';

export interface Inventory {
  domains: string[];
  volumes: string[];
  files: string[];
  /** Files the hostile inputs try to create outside the user's roost directories. */
  markers: string[];
}

/** Everything a refused request must leave as it was. */
export async function inventory(uri: string, user: TestUser, markers: readonly string[]): Promise<Inventory> {
  const volumes: string[] = [];
  for (const pool of await poolNames(uri)) {
    for (const v of await volumeNames(uri, pool)) volumes.push(`${pool}/${v}`);
  }
  const p = roostPaths(userEnv(user));
  // The compile cache is the CLI's own start-up cache: any run may write it.
  const skip = new Set([join(p.cache, 'compile-cache')]);
  const files = [p.data, p.state, p.config, p.cache, p.sockets].flatMap((d) => listTree(d, skip));
  // Anything new at the top of the home directory (a name that became a path there).
  files.push(...readdirSync(user.home).map((f) => `~/${f}`));
  return {
    domains: (await domainNames(uri)).sort(),
    volumes: volumes.sort(),
    files: [...new Set(files)].sort(),
    markers: markers.filter((m) => existsSync(m)),
  };
}

function listTree(dir: string, skip: Set<string>): string[] {
  if (!existsSync(dir) || skip.has(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (skip.has(path)) continue;
    if (e.isDirectory()) out.push(`${path}/`, ...listTree(path, skip));
    else out.push(`${path} ${lstatSync(path).size}`);
  }
  return out.map((f) => relative('/', f));
}

/** A refusal a user can read: no stack trace, no internal error, at most "what failed" and "the fix". */
export function expectCleanMessage(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(stderr).not.toMatch(/INTERNAL|TypeError|ReferenceError|RangeError|SyntaxError|Unhandled/);
  const lines = stderr.trim().split('\n');
  expect(lines.length, stderr).toBeGreaterThanOrEqual(1);
  expect(lines.length, stderr).toBeLessThanOrEqual(2);
  // What the user typed is echoed escaped: no terminal escape, no bidi override reaches the terminal.
  const raw = [...stderr].filter((c) => {
    const code = c.codePointAt(0)!;
    const control = (code < 0x20 && c !== '\n' && c !== '\t') || (code >= 0x7f && code <= 0x9f);
    const bidi = (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
    return control || bidi;
  });
  expect(raw, stderr).toEqual([]);
}

/** The hostile files: a directory, a never-ending device, a FIFO nobody writes, YAML of every bad kind. */
export interface HostileFiles {
  dir: string;
  fifo: string;
  zero: string;
  missing: string;
  newline: string;
  /** Any readable file: good enough as a --kernel for a VM that is never started. */
  kernel: string;
  yamlMalformed: string;
  yamlBomb: string;
  yamlHuge: string;
  yamlList: string;
  yamlScript: string;
}

export function makeHostileFiles(dir: string, user: TestUser): HostileFiles {
  const own = (path: string) => {
    if (process.getuid?.() === 0) chownSync(path, user.uid, user.gid);
    return path;
  };
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return own(path);
  };
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', ['-m', '0600', fifo]);
  own(fifo);
  // Nine levels of nine aliases: 9^9 strings once expanded.
  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  const levels = 'bcdefghij';
  for (let i = 0; i < levels.length - 1; i++) {
    const prev = i === 0 ? 'a' : levels[i - 1]!;
    bomb.push(`${levels[i]}: &${levels[i]} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const huge = ['#cloud-config', 'runcmd:'];
  for (let i = 0; i < 2600; i++) huge.push(`  - echo ${'x'.repeat(4000)} ${i}`); // 10 MB
  return {
    dir,
    fifo,
    zero: '/dev/zero',
    missing: join(dir, 'no-such-file.img'),
    newline: join(dir, 'line\nbreak.img'),
    kernel: file('vmlinuz', 'not really a kernel: the VM is never started\n'),
    yamlMalformed: file('malformed.yaml', '#cloud-config\nruncmd: [\n  a: }\n'),
    yamlBomb: file('bomb.yaml', `#cloud-config\n${bomb.join('\n')}\n`),
    yamlHuge: file('huge.yaml', huge.join('\n') + '\n'),
    yamlList: file('list.yaml', '#cloud-config\n- a\n- b\n'),
    yamlScript: file('script.yaml', '#!/bin/sh\ntouch /tmp/pwned\n'),
  };
}

/** The VM names an attacker would try: paths, controls, options, markup, shell. */
export function hostileNames(marker: string): [string, string][] {
  return [
    ['empty', ''],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['a parent path', '../x'],
    ['a deep parent path', `../../../../../../../..${marker}`],
    ['a slash', 'a/b'],
    ['300 characters', 'a'.repeat(300)],
    ['a newline', 'a\nb'],
    ['a terminal escape', 'a\u001b[31mred'],
    ['an RTL override', 'abc\u202etxt.exe'],
    ['a star', '*'],
    ['spaces', 'a b c'],
    ['XML metacharacters', `<x a='1' b="2">&amp;</x>`],
    ['shell command substitution', `$(touch ${marker})`],
    ['a semicolon', `a;touch ${marker}`],
    ['backticks', `\`touch ${marker}\``],
  ];
}

/** What both battery files start from: a blank base image, the image-traversal victim, one stopped VM. */
export async function makeGround(
  user: TestUser,
  uri: string,
  ground: { base: string; victim: string; existing: string; kernel: string },
): Promise<{ domainsAtStart: string[] }> {
  const domainsAtStart = await domainNames(uri);
  await runAs(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', ground.base, '32M']);
  // The file an image-name traversal (issue 15, finding 4) would delete.
  await runAs(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', ground.victim, '1M']);
  const made = await roost(user, [
    'create',
    ground.existing,
    '--kernel',
    ground.kernel,
    '--memory',
    '128M',
    '--port',
    `${await freePort()}:80`,
    '--no-start',
  ]);
  expect(made.code, made.stderr).toBe(0);
  return { domainsAtStart };
}

/** Removes the ground and anything a wrongly accepted case made, even a VM under a name no scope covers. */
export async function clearGround(
  uri: string,
  scope: TestScope,
  domainsAtStart: readonly string[],
  victim: string,
  markers: readonly string[],
): Promise<void> {
  for (const d of await domainNames(uri)) {
    if (!domainsAtStart.includes(d) && !d.startsWith(scope.prefix)) {
      await virsh(uri, ['undefine', d, '--nvram'], { check: false });
    }
  }
  await scope.cleanup();
  rmSync(victim, { force: true });
  for (const m of markers) rmSync(m, { force: true });
}
