// roost apply and roost export against the real session daemon and QEMU (tiny guest, TCG): a file's VMs are
// created; applying it again changes nothing and says so; a changed memory and forward are changed; --prune
// removes only what the file made and no longer lists (never a VM made by create), and only with --yes; a shared
// folder of the file is made, and changed at next start; export writes the file that apply turns back into the
// same VM, shared folder included (create → export → rm → apply → export again).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  domainNames,
  freePort,
  harness,
  roost,
  runAs,
  tinyCreateArgs,
  tinyGuest,
  virsh,
  type RunResult,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('apply', user, uri);
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const a = scope.name('a');
const b = scope.name('b');
const other = scope.name('made-by-create');
let file: string;
let base: string;
let port: number;
let share: string;

afterAll(() => scope.cleanup());

function vmFile(opts: { memoryB: string; port: number; withB: boolean; shareRo?: boolean }): string {
  const g = tinyGuest(user);
  const kernel = `kernel: {path: ${g.kernel}, initrd: ${g.initrd}, cmdline: "${g.cmdline}"}`;
  const docs = [
    `name: ${a}\nimage: ${base}\n${kernel}\ncpus: 1\nmemory: 256M\ndisk: 64M\nports: ["127.0.0.1:${opts.port}:80"]\n` +
      `mounts: [{host: ./share, guest: /data, readOnly: ${opts.shareRo ?? true}}]\n` +
      `cloudInit:\n  packages: [curl]\n  runcmd: ["echo hello > /tmp/hello"]\n`,
  ];
  if (opts.withB) docs.push(`name: ${b}\n${kernel}\ncpus: 1\nmemory: ${opts.memoryB}\ndisk: 16M\n`);
  return docs.join('---\n');
}

function write(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o644 });
}

async function apply(args: string[]): Promise<RunResult> {
  return roost(user, ['apply', ...args], { timeoutMs: 300_000 });
}

/** The one `<filesystem>` element of a domain's XML. */
function filesystemOf(xml: string): string {
  const all = xml.match(/<filesystem[\s\S]*?<\/filesystem>/g) ?? [];
  expect(all).toHaveLength(1);
  return all[0]!;
}

async function inactiveMemoryKiB(name: string): Promise<number> {
  const xml = (await virsh(uri, ['dumpxml', '--inactive', name])).stdout;
  return Number(/<memory unit='KiB'>(\d+)<\/memory>/.exec(xml)![1]);
}

beforeAll(async () => {
  base = join(scope.dir, 'base.qcow2');
  await runAs(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', base, '32M']);
  file = join(scope.dir, 'vms.yaml');
  share = join(scope.dir, 'share');
  await runAs(user, 'mkdir', ['-p', share], { check: true });
  port = await freePort();
  write(file, vmFile({ memoryB: '256M', port, withB: true }));
  const r = await roost(user, [
    'create',
    other,
    ...tinyCreateArgs(tinyGuest(user)),
    '--disk',
    '16M',
    '--no-start',
  ]);
  expect(r.code, text(r)).toBe(0);
}, 120_000);

describe('roost apply', () => {
  it('creates the VMs of a file, then finds them unchanged', async () => {
    const first = await apply([file]);
    expect(first.code, text(first)).toBe(0);
    expect(first.stdout).toContain(`+ create ${a}`);
    expect(first.stdout).toContain(`+ create ${b}`);
    expect(await domainNames(uri)).toEqual(expect.arrayContaining([a, b]));
    const xml = (await virsh(uri, ['dumpxml', '--inactive', a])).stdout;
    expect(xml).toContain(`start='${port}'`);
    // The shared folder, relative to the file, read-only.
    expect(filesystemOf(xml)).toContain(`<source dir='${share}'/>`);
    expect(filesystemOf(xml)).toContain('<readonly/>');

    const again = await apply([file]);
    expect(again.code, text(again)).toBe(0);
    expect(again.stdout.trim().split('\n').sort()).toEqual([`= unchanged ${a}`, `= unchanged ${b}`].sort());
  }, 600_000);

  it('changes memory and a forward in place, then is unchanged again', async () => {
    const newPort = await freePort();
    write(file, vmFile({ memoryB: '300M', port: newPort, withB: true, shareRo: false }));
    const plan = await apply([file, '--dry-run', '--json']);
    expect(plan.code, text(plan)).toBe(0);
    const json = JSON.parse(plan.stdout) as {
      vms: { name: string; action: string; changes: { field: string }[] }[];
    };
    expect(json.vms.find((v) => v.name === b)).toMatchObject({
      action: 'change',
      changes: [{ field: 'memory' }],
    });
    expect(await inactiveMemoryKiB(b)).toBe(256 * 1024); // a dry run changes nothing

    const r = await apply([file]);
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toContain(`~ change ${b} memory: 256 MiB → 300 MiB (at next start)`);
    expect(r.stdout).toContain(`~ change ${a} ports: (none) → 127.0.0.1:${newPort}:80/tcp`);
    expect(r.stdout).toContain(`~ change ${a} mounts: ${share}:/data:ro → (none) (at next start)`);
    expect(r.stdout).toContain(`~ change ${a} mounts: (none) → ${share}:/data (at next start)`);
    const fs = filesystemOf((await virsh(uri, ['dumpxml', '--inactive', a])).stdout);
    expect(fs).toContain(`<source dir='${share}'/>`);
    expect(fs).not.toContain('<readonly/>');
    expect(await inactiveMemoryKiB(b)).toBe(300 * 1024);
    expect((await virsh(uri, ['dumpxml', '--inactive', a])).stdout).toContain(`start='${newPort}'`);
    port = newPort;
    const again = await apply([file]);
    expect(again.stdout).not.toMatch(/^[+~-] /m);
  }, 300_000);

  it('prunes only VMs it applied from this file, and only with --yes', async () => {
    write(file, vmFile({ memoryB: '300M', port, withB: false, shareRo: false }));
    const refused = await apply([file, '--prune']);
    expect(refused.code, text(refused)).toBe(2);
    expect(refused.stdout).toContain(`- remove ${b}`);
    expect(refused.stdout).not.toContain(other);
    expect(await domainNames(uri)).toContain(b);

    const r = await apply([file, '--prune', '--yes']);
    expect(r.code, text(r)).toBe(0);
    const names = await domainNames(uri);
    expect(names).not.toContain(b);
    expect(names).toEqual(expect.arrayContaining([a, other]));
  }, 300_000);

  it('export writes the file apply makes the same VM from (round trip)', async () => {
    const exported = await roost(user, ['export', a]);
    expect(exported.code, text(exported)).toBe(0);
    expect(exported.stdout).toContain('packages:');
    expect(exported.stdout).toContain(`mounts:\n  - host: ${share}\n    guest: /data\n`);
    expect(exported.stdout).not.toContain('roost-mount');
    const copy = join(scope.dir, 'a.yaml');
    write(copy, exported.stdout);
    const rm = await roost(user, ['rm', '--force', a]);
    expect(rm.code, text(rm)).toBe(0);

    const r = await apply([copy]);
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toContain(`+ create ${a}`);
    const again = await roost(user, ['export', a]);
    expect(again.stdout).toBe(exported.stdout);
    expect(await inactiveMemoryKiB(a)).toBe(256 * 1024);
  }, 600_000);

  it('refuses a file with a wrong type, naming file, line and key, and changes nothing', async () => {
    const bad = join(scope.dir, 'bad.yaml');
    write(bad, `name: ${scope.name('bad')}\ncpus: two\n`);
    const r = await apply([bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2:7: key \`cpus\`: expected number, got string "two"`);
    expect(await domainNames(uri)).not.toContain(scope.name('bad'));
  });
});
