// roost cp against the Debian cloud guest (sshd with sftp-server, qemu-guest-agent), one boot for every case: a
// 64 MiB file both ways over ssh, a tree with its modes and times, names no shell or glob may touch, the errors
// (nothing created on either side), and the guest agent route.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CopyResult } from '../../src/shared/files.js';
import {
  createScope,
  debianCreateArgs,
  debianGuest,
  debianImportArgs,
  freePort,
  harness,
  roost,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('cp', user, uri);
const guest = debianGuest(user);
const image = scope.name('img');
const name = scope.name('vm');
const login = guest.user ?? 'debian';

/** A directory on the host the test user owns (roost runs as that user and writes downloads there). */
function userDir(...parts: string[]): string {
  const dir = join(scope.dir, ...parts);
  mkdirSync(dir, { recursive: true });
  chownSync(dir, user.uid, user.gid);
  return dir;
}

/** Files the test (root) made, handed to the test user: roost runs as that user and must read them. */
function own(path: string): void {
  chownSync(path, user.uid, user.gid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) own(join(path, e));
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const inGuest = (...command: string[]) => roost(user, ['ssh', name, '--', ...command]);
const cp = (args: string[], timeoutMs = 240_000) => roost(user, ['cp', ...args], { timeoutMs });

beforeAll(async () => {
  const imp = await roost(user, debianImportArgs(guest, image));
  expect(imp.code, imp.stderr).toBe(0);
  const sshPort = await freePort();
  const created = await roost(
    user,
    [
      'create',
      name,
      '--image',
      image,
      ...debianCreateArgs(guest),
      '--port',
      `127.0.0.1:${sshPort}:22`,
      '--wait',
      'ssh',
      '--wait-timeout',
      '900',
    ],
    { timeoutMs: 960_000 },
  );
  expect(created.code, created.stderr).toBe(0);
}, 1_000_000);

afterAll(async () => {
  await roost(user, ['rm', '--force', name]);
  await roost(user, ['image', 'rm', image]);
  await scope.cleanup();
});

describe('roost cp over ssh', () => {
  it('-r copies a tree both ways with its modes and modification times', async () => {
    const root = userDir('tree', 'proj');
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'README'), 'read me\n');
    writeFileSync(join(root, 'secret.key'), 'k\n');
    writeFileSync(join(root, 'bin', 'run.sh'), '#!/bin/sh\necho run\n');
    chmodSync(join(root, 'README'), 0o644);
    chmodSync(join(root, 'secret.key'), 0o600);
    chmodSync(join(root, 'bin', 'run.sh'), 0o755);
    chmodSync(join(root, 'bin'), 0o750);
    const times: Record<string, number> = {
      README: 1_600_000_000,
      'secret.key': 1_500_000_000,
      'bin/run.sh': 1_400_000_000,
    };
    for (const [f, t] of Object.entries(times)) utimesSync(join(root, f), t, t);
    own(root);

    const up = await cp(['-r', root, `${name}:/tmp/`]);
    expect(up.code, up.stderr).toBe(0);
    const st = await inGuest(
      'stat',
      '-c',
      '%n:%a:%Y',
      '/tmp/proj/README',
      '/tmp/proj/secret.key',
      '/tmp/proj/bin/run.sh',
      '/tmp/proj/bin',
    );
    expect(st.code, st.stderr).toBe(0);
    const lines = st.stdout.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '/tmp/proj/README:644:1600000000',
      '/tmp/proj/secret.key:600:1500000000',
      '/tmp/proj/bin/run.sh:755:1400000000',
    ]);
    expect(lines[3]).toMatch(/^\/tmp\/proj\/bin:750:/);

    const back = userDir('tree-back');
    const down = await cp(['-r', `${name}:/tmp/proj`, back]);
    expect(down.code, down.stderr).toBe(0);
    for (const [f, t] of Object.entries(times)) {
      const s = statSync(join(back, 'proj', f));
      expect([f, s.mode & 0o7777, Math.floor(s.mtimeMs / 1000)]).toEqual([
        f,
        statSync(join(root, f)).mode & 0o7777,
        t,
      ]);
    }
    expect(statSync(join(back, 'proj', 'bin')).mode & 0o777).toBe(0o750);
  }, 300_000);

  it('takes a VM path literally: spaces, quotes, $( ), backquotes and glob characters are part of the name', async () => {
    const dir = userDir('names');
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    writeFileSync(a, 'the file named with the glob\n');
    writeFileSync(b, 'a file the glob would match\n');
    own(dir);
    const mk = await inGuest('mkdir', '-p', "'/tmp/cp dir'");
    expect(mk.code, mk.stderr).toBe(0);
    // One file name each (a name holds no '/'), in a directory whose name has a space. A shell would run the
    // $( ) and the backquotes in the login's home; a glob would match the decoy and not the name itself.
    const literal = "it's $(touch pwned) `touch pwned2` *?[ab]\\.txt";
    const decoy = "it's $(touch pwned) `touch pwned2` xxa.txt";
    const up = await cp([a, `${name}:/tmp/cp dir/${literal}`]);
    expect(up.code, up.stderr).toBe(0);
    const up2 = await cp([b, `${name}:/tmp/cp dir/${decoy}`]);
    expect(up2.code, up2.stderr).toBe(0);
    const listed = await inGuest('ls', '-1', "'/tmp/cp dir'");
    expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual([literal, decoy].sort());

    const back = userDir('names-back');
    const down = await cp([`${name}:/tmp/cp dir/${literal}`, back]);
    expect(down.code, down.stderr).toBe(0);
    // The glob matched nothing but itself: one file came back, the one named with the glob.
    expect(readdirSync(back)).toEqual([literal]);
    expect(readFileSync(join(back, literal), 'utf8')).toBe('the file named with the glob\n');
    expect((await inGuest('ls', '-A')).stdout).not.toMatch(/pwned/);
  }, 300_000);

  it('a local name starting with - is a file, not an option', async () => {
    const dir = userDir('dash');
    writeFileSync(join(dir, '-oProxyCommand=x'), 'dash\n');
    own(dir);
    const r = await roost(user, ['cp', '--', join(dir, '-oProxyCommand=x'), `${name}:/tmp/`]);
    expect(r.code, r.stderr).toBe(0);
    expect((await inGuest('cat', '/tmp/-oProxyCommand=x')).stdout).toBe('dash\n');
  }, 120_000);
});

describe('roost cp refuses bad input and changes nothing', () => {
  it('both sides in a VM, or neither: exit 2', async () => {
    const both = await cp([`${name}:/etc/hostname`, `${name}:/tmp/x`]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/both sides name a VM/);
    const neither = await cp(['/etc/hostname', join(scope.dir, 'x')]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/neither side names a VM: write NAME:PATH on one side/);
    expect(existsSync(join(scope.dir, 'x'))).toBe(false);
  });

  it('a VM that does not exist: exit 1, "no VM named"', async () => {
    const r = await cp(['/etc/hostname', `${scope.name('missing')}:/tmp/`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no VM named '.*missing' /);
  });

  it('a missing local source: exit 2, nothing created in the guest', async () => {
    const r = await cp([join(scope.dir, 'no-such-file'), `${name}:/tmp/cp-missing`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no-such-file' does not exist/);
    expect((await inGuest('test', '-e', '/tmp/cp-missing')).code).toBe(1);
  });

  it('a missing guest file: exit 1 with scp’s reason, no local file created', async () => {
    const dest = join(userDir('missing'), 'out');
    const r = await cp([`${name}:/tmp/no-such-file`, dest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/copying failed: .*no-such-file.*No such file/);
    expect(existsSync(dest)).toBe(false);
  });

  it('a directory without -r: exit 2', async () => {
    const r = await cp([userDir('plain-dir'), `${name}:/tmp/`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a directory\n {2}fix: copy it with its contents: roost cp -r/);
  });
});

describe('roost cp through the guest agent', () => {
  it('--via agent copies files in and back out: bytes, modes and times kept, several chunks each way', async () => {
    const dir = userDir('agent');
    // 300 KiB: seven writes of 48 KiB going in, two reads of 256 KiB coming out.
    const data = join(dir, 'data.bin');
    writeFileSync(data, randomBytes(300 * 1024));
    chmodSync(data, 0o640);
    utimesSync(data, 1_600_000_000, 1_600_000_000);
    const tool = join(dir, 'tool.sh');
    writeFileSync(tool, '#!/bin/sh\necho tool\n');
    chmodSync(tool, 0o751);
    utimesSync(tool, 1_234_567_890, 1_234_567_890);
    own(dir);

    const up = await cp(['--via', 'agent', data, tool, `${name}:/tmp/`]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/copying through the guest agent: slower than ssh/);
    expect(up.stdout).toMatch(/copied 300 KiB to .* \(guest agent\)/);
    const sums = await inGuest('sha256sum', '/tmp/data.bin', '/tmp/tool.sh');
    expect(sums.code, sums.stderr).toBe(0);
    expect(
      sums.stdout
        .split('\n')
        .map((l) => l.split(' ')[0])
        .slice(0, 2),
    ).toEqual([sha256(data), sha256(tool)]);
    // The agent writes as root; the files it created go to the login user, as over ssh, with the modes and times
    // of the host's copies.
    const st = await inGuest('stat', '-c', '%n:%U:%a:%Y', '/tmp/data.bin', '/tmp/tool.sh');
    expect(st.stdout.trim().split('\n')).toEqual([
      `/tmp/data.bin:${login}:640:1600000000`,
      `/tmp/tool.sh:${login}:751:1234567890`,
    ]);

    const back = userDir('agent-back');
    const down = await cp([
      '--via',
      'agent',
      '--json',
      `${name}:/tmp/data.bin`,
      `${name}:/tmp/tool.sh`,
      back,
    ]);
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout) as CopyResult).toMatchObject({
      via: 'agent',
      direction: 'from-guest',
      bytes: 300 * 1024 + statSync(tool).size,
    });
    expect(readdirSync(back).sort()).toEqual(['data.bin', 'tool.sh']);
    for (const [f, mode, mtime] of [
      ['data.bin', 0o640, 1_600_000_000],
      ['tool.sh', 0o751, 1_234_567_890],
    ] as const) {
      const s = statSync(join(back, f));
      expect([f, sha256(join(back, f)), s.mode & 0o7777, Math.floor(s.mtimeMs / 1000), s.uid]).toEqual([
        f,
        sha256(join(dir, f)),
        mode,
        mtime,
        user.uid,
      ]);
    }
  }, 600_000);

  it('--via agent refuses a directory and a relative guest path, exit 2', async () => {
    const r = await cp(['--via', 'agent', '-r', userDir('agent-dir'), `${name}:/tmp/`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/single files, not directories/);
    const rel = await cp(['--via', 'agent', '/etc/hostname', `${name}:x`]);
    expect(rel.code).toBe(2);
    expect(rel.stderr).toMatch(/is relative: through the guest agent a guest path must be absolute/);
  });

  it('a guest file the agent cannot open: exit 1, no local file left', async () => {
    const dest = join(userDir('agent-missing'), 'out');
    const r = await cp(['--via', 'agent', `${name}:/tmp/no-such-file`, dest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the copy in the guest failed: .*No such file or directory/);
    expect(readdirSync(join(scope.dir, 'agent-missing'))).toEqual([]);
  });

  // The agent runs as root: a guest user's link must not make it write, chmod or read a file of root's.
  it('--via agent replaces a link the guest user placed at the destination; the root file it names is untouched', async () => {
    const home = `/home/${login}`;
    const shadow = async () => {
      const sum = await inGuest('sudo', 'sha256sum', '/etc/shadow');
      const st = await inGuest('stat', '-c', '%U:%G:%a:%Y', '/etc/shadow');
      expect([sum.code, st.code], sum.stderr + st.stderr).toEqual([0, 0]);
      return sum.stdout + st.stdout;
    };
    const before = await shadow();
    const placed = await inGuest('ln', '-sfn', '/etc/shadow', `${home}/notes`);
    expect(placed.code, placed.stderr).toBe(0);
    const dir = userDir('agent-link');
    const notes = join(dir, 'notes');
    writeFileSync(notes, 'hello from the host\n');
    chmodSync(notes, 0o644);
    own(dir);

    const up = await cp(['--via', 'agent', notes, `${name}:${home}/notes`]);
    expect(up.code, up.stderr).toBe(0);
    expect(await shadow()).toBe(before);
    const dest = await inGuest('stat', '-c', '%F:%U:%a', `${home}/notes`);
    expect(dest.stdout.trim()).toBe(`regular file:${login}:644`);
    const body = await inGuest('cat', `${home}/notes`);
    expect(body.stdout).toBe('hello from the host\n');
    // No temporary directory is left beside it.
    const left = await inGuest('ls', '-A', home);
    expect(left.code, left.stderr).toBe(0);
    expect(left.stdout).toMatch(/^notes$/m);
    expect(left.stdout).not.toMatch(/roost-cp/);
  }, 300_000);

  it('--via agent refuses to read a link the guest user placed to a root-only file: exit 1, no local file', async () => {
    const home = `/home/${login}`;
    const placed = await inGuest('ln', '-sfn', '/etc/shadow', `${home}/leak`);
    expect(placed.code, placed.stderr).toBe(0);
    const dir = userDir('agent-leak');
    const r = await cp(['--via', 'agent', `${name}:${home}/leak`, join(dir, 'leak')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/leak is a symbolic link, not a regular file/);
    expect(readdirSync(dir)).toEqual([]);
  }, 300_000);
});

// Last: the slowest case, so that a slow host reports the others first.
describe('roost cp with a large file', () => {
  it('copies a 64 MiB file into the guest and back, bytes unchanged', async () => {
    const dir = userDir('big');
    const src = join(dir, 'big.bin');
    writeFileSync(src, randomBytes(64 * 1024 * 1024));
    own(src);
    const up = await cp([src, `${name}:/tmp/`, '--json'], 600_000);
    expect(up.code, up.stderr).toBe(0);
    const result = JSON.parse(up.stdout) as CopyResult;
    expect(result).toMatchObject({ vm: name, direction: 'to-guest', via: 'ssh', bytes: 64 * 1024 * 1024 });
    console.log(`roost cp 64 MiB to the guest: ${result.elapsedMs} ms`);
    const remote = await inGuest('sha256sum', '/tmp/big.bin');
    expect(remote.stdout.split(' ')[0]).toBe(sha256(src));

    const back = join(userDir('big-back'), 'big.bin');
    const down = await cp([`${name}:/tmp/big.bin`, back, '--json'], 600_000);
    expect(down.code, down.stderr).toBe(0);
    expect((JSON.parse(down.stdout) as CopyResult).bytes).toBe(64 * 1024 * 1024);
    expect(sha256(back)).toBe(sha256(src));
  }, 1_300_000);
});
