import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VmFileError } from '../declarative/parse.js';
import { readApplyFile } from './apply-read.js';

const tmp = mkdtempSync(join(tmpdir(), 'roost-apply-read-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A VM file and a cache folder of their own. */
function setup(text: string) {
  const dir = join(tmp, String(n++));
  const file = join(tmp, `vms-${n}.yaml`);
  writeFileSync(file, text);
  return { file, cache: { dir, build: 'a'.repeat(32) } };
}

/** The one kept file of a cache folder, and a way to change what it says the file's VMs are. */
function kept(dir: string) {
  const path = join(dir, readdirSync(dir)[0]!);
  return {
    path,
    setCpus(cpus: number) {
      const k = JSON.parse(readFileSync(path, 'utf8')) as { vms: { spec: { cpus?: number } }[] };
      k.vms[0]!.spec.cpus = cpus;
      writeFileSync(path, JSON.stringify(k));
    },
  };
}

const TEXT = 'name: a\ncpus: 2\n---\nname: b\nmemory: 1G\n';

describe('readApplyFile', () => {
  it('parses a file as parseVmFile does, and keeps the parse private (0600 in 0700)', async () => {
    const { file, cache } = setup(TEXT);
    const vms = await readApplyFile(file, file, cache);
    expect(vms).toEqual([
      { spec: { name: 'a', cpus: 2 }, file, line: 1 },
      { spec: { name: 'b', memory: '1G' }, file, line: 4 },
    ]);
    expect(statSync(cache.dir).mode & 0o777).toBe(0o700);
    expect(statSync(kept(cache.dir).path).mode & 0o777).toBe(0o600);
  });

  it('uses the kept parse for the same text of the same file and build, naming the file as given', async () => {
    const { file, cache } = setup(TEXT);
    await readApplyFile(file, file, cache);
    kept(cache.dir).setCpus(7); // only a kept parse can say 7
    const given = relative(process.cwd(), file);
    const vms = await readApplyFile(given, file, cache);
    expect(vms[0]).toEqual({ spec: { name: 'a', cpus: 7 }, file: given, line: 1 });
  });

  it('parses afresh when the text, the build or the path differs', async () => {
    const { file, cache } = setup(TEXT);
    await readApplyFile(file, file, cache);
    const k = kept(cache.dir);
    k.setCpus(7);
    expect((await readApplyFile(file, file, { ...cache, build: 'b'.repeat(32) }))[0]!.spec.cpus).toBe(2);
    k.setCpus(7);
    writeFileSync(file, `${TEXT}\n`);
    expect((await readApplyFile(file, file, cache))[0]!.spec.cpus).toBe(2);
  });

  it('ignores a kept parse that others may write', async () => {
    const { file, cache } = setup(TEXT);
    await readApplyFile(file, file, cache);
    const k = kept(cache.dir);
    k.setCpus(7);
    chmodSync(k.path, 0o666);
    expect((await readApplyFile(file, file, cache))[0]!.spec.cpus).toBe(2);
  });

  it('keeps nothing of a file with problems, and reports them every time', async () => {
    const { file, cache } = setup('name: a\ncpus: two\n');
    for (let i = 0; i < 2; i++) await expect(readApplyFile(file, file, cache)).rejects.toThrow(VmFileError);
    expect(() => readdirSync(cache.dir)).toThrow(/ENOENT/);
  });

  it('still checks the file itself when a parse of it is kept', async () => {
    const { file, cache } = setup(TEXT);
    await readApplyFile(file, file, cache);
    rmSync(file);
    await expect(readApplyFile(file, file, cache)).rejects.toThrow(/does not exist/);
  });

  it('keeps nothing without a cache', async () => {
    const { file, cache } = setup(TEXT);
    expect(await readApplyFile(file, file)).toHaveLength(2);
    expect(() => readdirSync(cache.dir)).toThrow(/ENOENT/);
  });
});
