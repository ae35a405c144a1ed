import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writePrivateFile } from './private-file.js';

describe('writePrivateFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'roost-private-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the whole text with mode 0600 and leaves no temporary file', () => {
    const file = join(dir, 'a.json');
    writePrivateFile(file, '{"x":1}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"x":1}\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['a.json']);
  });

  it('replaces an existing file, tightening its mode', () => {
    const file = join(dir, 'a');
    writeFileSync(file, 'old', { mode: 0o644 });
    writePrivateFile(file, 'new');
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('makes a missing parent folder 0700 only when asked', () => {
    const file = join(dir, 'sub', 'deeper', 'f');
    expect(() => writePrivateFile(file, 'x')).toThrow(/ENOENT/);
    writePrivateFile(file, 'x', { makeParent: true });
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('does not write through a symlink left at the temporary name', () => {
    const file = join(dir, 'f');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'untouched');
    symlinkSync(victim, `${file}.${process.pid}.tmp`);
    writePrivateFile(file, 'mine');
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });

  it('leaves the old file and no temporary file when the rename fails', () => {
    const file = join(dir, 'd');
    // A non-empty folder at the final name: the rename fails after the temporary file was written.
    writePrivateFile(join(file, 'inner'), 'x', { makeParent: true });
    expect(() => writePrivateFile(file, 'y')).toThrow();
    expect(readdirSync(dir)).toEqual(['d']);
  });
});
