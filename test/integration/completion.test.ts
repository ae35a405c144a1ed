// Shell completion in the real shells from Debian, as the test user, against the test user's session daemon:
// bash (bash-completion loaded, the completion function called as readline calls it), fish (`complete -C`,
// fish's own completion query) and zsh (an interactive zsh in a pseudo-terminal, Tab pressed). The script is
// what `roost completion SHELL` prints, `roost` is found on PATH as an installed one would be, and the VM and
// snapshot names come from a VM defined on the daemon (never booted: completion needs none running).
import { chmodSync, chownSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  createScope,
  harness,
  processesOf,
  roost,
  runAs,
  tinyCreateArgs,
  tinyGuest,
  userEnv,
  type RunResult,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('compl', user, uri);
const vm = scope.name('vm');
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
let bin: string;
let env: NodeJS.ProcessEnv;

/** A file in the scope's directory, owned by the test user. */
function userFile(name: string, content: string, mode = 0o644): string {
  const path = join(scope.dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  if (process.getuid?.() === 0) chownSync(path, user.uid, user.gid);
  return path;
}

async function script(shell: string): Promise<string> {
  const r = await roost(user, ['completion', shell]);
  expect(r.code, text(r)).toBe(0);
  return userFile(`roost.${shell}`, r.stdout);
}

/** bash: bash-completion loaded, the script sourced, _roost called with the words readline would set. */
async function bashComplete(words: string[]): Promise<string[]> {
  const file = await script('bash');
  const line = words.join(' ');
  const r = await runAs(
    user,
    'bash',
    [
      '-c',
      'source /usr/share/bash-completion/bash_completion; source "$1"; shift; COMP_WORDS=("$@"); ' +
        'COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; ' +
        '_roost roost "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf "%s\\n" "${COMPREPLY[@]}"',
      'bash',
      file,
      ...words,
    ],
    { env, check: false },
  );
  expect(r.code, `${line}\n${text(r)}`).toBe(0);
  expect(r.stderr, line).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

/** fish: its own completion query, `complete -C LINE`: values only (fish prints "value\tdescription"). */
async function fishComplete(line: string): Promise<string[]> {
  const file = await script('fish');
  const r = await runAs(user, 'fish', ['-c', `source ${file}; complete -C '${line}'`], { env, check: false });
  expect(r.code, `${line}\n${text(r)}`).toBe(0);
  expect(r.stderr, line).toBe('');
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0]!);
}

/**
 * zsh: an interactive `zsh -f` in a pseudo-terminal (python3's pty), compinit, the script sourced, LINE typed
 * and Tab pressed; what the terminal then shows (the listing, or the completed line).
 */
async function zshTab(line: string): Promise<string> {
  const file = await script('zsh');
  const driver = userFile(
    'tab.py',
    `import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.environ['TERM'] = 'dumb'
    os.execvp('zsh', ['zsh', '-f', '-i'])
def read_until(marker, seconds):
    out = b''
    end = time.time() + seconds
    while time.time() < end and marker not in out:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out
os.write(fd, b"PS1='%% '; autoload -Uz compinit; compinit -u; source ${file}; echo READY\\n")
read_until(b'READY\\r\\n%', 60)
os.write(fd, sys.argv[1].encode() + b'\\t')
# The answer ends when zsh has drawn the prompt again (a listing) or stops writing (a completed line).
out = read_until(b'\\n% ' + sys.argv[1].encode()[:6], 30)
out += read_until(b'\\0', 2)
os.write(fd, b'\\x03exit\\n')
sys.stdout.write(out.decode('utf8', 'replace'))
`,
  );
  const r = await runAs(user, 'python3', [driver, line], { env, check: false, timeoutMs: 90_000 });
  expect(r.code, text(r)).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  bin = join(scope.dir, 'bin');
  await runAs(user, 'mkdir', ['-p', bin]);
  symlinkSync(CLI, join(bin, 'roost'));
  env = { ...userEnv(user), PATH: `${bin}:${userEnv(user).PATH}` };
  const made = await roost(user, [
    'create',
    vm,
    ...tinyCreateArgs(tinyGuest(user)),
    '--disk',
    '16M',
    '--no-start',
  ]);
  expect(made.code, text(made)).toBe(0);
  const snap = await roost(user, ['snapshot', 'create', vm, 'before-upgrade']);
  expect(snap.code, text(snap)).toBe(0);
}, 180_000);

afterAll(async () => {
  await roost(user, ['rm', '--force', vm]);
  await scope.cleanup();
});

describe('bash (bash-completion)', () => {
  it('completes commands, subcommands and options from the command table', async () => {
    expect(await bashComplete(['roost', 'sn'])).toEqual(['snapshot']);
    expect(await bashComplete(['roost', 'snapshot', 're'])).toEqual(['revert']);
    expect(await bashComplete(['roost', 'ls', '--j'])).toEqual(['--json']);
    expect(await bashComplete(['roost', 'exe'])).toEqual(['exec']);
  });

  it("completes the daemon's VM names and the VM's snapshot names", async () => {
    expect(await bashComplete(['roost', 'start', vm.slice(0, -2)])).toEqual([vm]);
    expect(await bashComplete(['roost', 'snapshot', 'revert', vm, 'bef'])).toEqual(['before-upgrade']);
  });

  it('completes catalogue image refs after --image', async () => {
    expect(await bashComplete(['roost', 'create', 'x', '--image', 'debian-1'])).toEqual(
      expect.arrayContaining(['debian-12', 'debian-13']),
    );
  });
});

describe('fish (complete -C)', () => {
  it('completes commands and options', async () => {
    expect(await fishComplete('roost st')).toEqual(expect.arrayContaining(['start', 'stop']));
    expect(await fishComplete('roost snapshot ')).toEqual(
      expect.arrayContaining(['create', 'ls', 'revert', 'rm']),
    );
    expect(await fishComplete('roost stop --f')).toEqual(['--force']);
  });

  it("completes the daemon's VM names", async () => {
    expect(await fishComplete('roost info ')).toContain(vm);
    expect(await fishComplete(`roost snapshot rm ${vm} `)).toEqual(['before-upgrade']);
  });
});

describe('zsh (compinit, Tab in a pseudo-terminal)', () => {
  it('lists subcommands with their descriptions', async () => {
    const screen = await zshTab('roost snapshot r');
    expect(screen).toMatch(/revert\s+-- put the VM back to a snapshot/);
    expect(screen).toMatch(/rm\s+-- delete a snapshot/);
  });

  it('completes a VM name on the line', async () => {
    const screen = await zshTab(`roost start ${vm.slice(0, -2)}`);
    expect(screen).toContain(`roost start ${vm}`);
  });
});

describe('what Tab never does', () => {
  it('starts no daemon when none runs, and offers no names', async () => {
    const daemons = () => processesOf(user.uid, /^(libvirtd|virtqemud)$/).length;
    const before = daemons();
    // A runtime directory with no daemon socket in it: the daemon would be started there.
    const runtime = join(scope.dir, 'run');
    await runAs(user, 'mkdir', ['-m', '700', '-p', runtime]);
    const r = await runAs(user, process.execPath, [CLI, '__complete', '--', 'start', ''], {
      env: { ...env, XDG_RUNTIME_DIR: runtime },
      check: false,
    });
    expect(r.stdout).toBe(':plain\n');
    expect(r.stderr).toBe('');
    await new Promise((res) => setTimeout(res, 1000));
    expect(daemons()).toBe(before);
  });

  it('prints no error into the shell line: a bad URI, an unreachable ssh host, a broken hosts.yaml', async () => {
    // A private XDG_CONFIG_HOME: the user's own hosts.yaml is hosts.test's, which runs beside this file.
    const configHome = join(scope.dir, 'config');
    const config = join(configHome, 'roost');
    await runAs(user, 'mkdir', ['-p', config]);
    writeFileSync(join(config, 'hosts.yaml'), 'hosts: [unclosed\n');
    for (const args of [
      ['-c', 'no-such-scheme:///x', 'start', ''],
      ['-c', 'qemu+ssh://nobody@127.0.0.1:1/session', 'start', ''],
      ['snapshot', 'revert', 'no-such-vm', ''],
    ]) {
      const r = await runAs(user, process.execPath, [CLI, '__complete', '--', ...args], {
        env: { ...env, XDG_CONFIG_HOME: configHome },
        check: false,
      });
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toBe(':plain\n');
      expect(r.stderr, args.join(' ')).toBe('');
    }
  });
});
