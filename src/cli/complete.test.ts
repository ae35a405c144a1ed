import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { complete, formatCompletion, type LiveValues } from './complete.js';
import { connectionOnLine, liveValues, readHosts } from './complete-values.js';
import { buildProgram } from './program.js';

/** Live values that say which were asked for. */
function fakeLive() {
  const asked: string[] = [];
  const live: LiveValues = {
    vms: async () => (asked.push('vms'), ['web', 'db', 'web-2']),
    snapshots: async (vm) => (asked.push(`snapshots:${vm}`), ['before-upgrade', 'clean']),
    images: async () => (asked.push('images'), ['debian-12', 'debian']),
    hosts: async () => (asked.push('hosts'), ['lab', 'nas']),
  };
  return { live, asked };
}

async function tab(line: string) {
  const { live, asked } = fakeLive();
  const words = line.split(' ');
  const r = await complete(buildProgram(), words, live);
  return { values: r.candidates.map((c) => c.value), files: r.files, asked };
}

describe('completion from the command table', () => {
  it('offers every visible command, the new ones included, and not the hidden __complete', async () => {
    const { values } = await tab('');
    expect(values).toEqual(
      expect.arrayContaining(['create', 'ls', 'snapshot', 'exec', 'completion', 'help']),
    );
    expect(values).not.toContain('__complete');
  });

  it('filters by what is typed, and walks into subcommands', async () => {
    expect((await tab('sn')).values).toEqual(['snapshot']);
    expect((await tab('snapshot re')).values).toEqual(['revert']);
    expect((await tab('port ')).values).toEqual(expect.arrayContaining(['ls', 'add', 'rm', 'watch']));
  });

  it("offers a command's options and the global ones", async () => {
    const { values } = await tab('ls --');
    expect(values).toEqual(expect.arrayContaining(['--json', '--connect', '--quiet', '--help']));
    expect((await tab('stop --f')).values).toEqual(['--force']);
  });

  it("offers an option's choices and an argument's choices", async () => {
    expect((await tab('snapshot create web --kind ')).values).toEqual(['internal', 'external']);
    expect((await tab('completion ')).values).toEqual(['bash', 'zsh', 'fish']);
  });

  it('VM names where a VM is wanted, after global options and their values', async () => {
    const r = await tab('-c qemu:///session start w');
    expect(r.values).toEqual(['web', 'web-2']);
    expect(r.asked).toEqual(['vms']);
    expect((await tab('exec ')).values).toEqual(['web', 'db', 'web-2']);
    expect((await tab('clone ')).values).toEqual(['web', 'db', 'web-2']);
  });

  it('no names for a name the user makes up, and no daemon asked', async () => {
    for (const line of ['create ', 'clone web ', 'snapshot create web ']) {
      const r = await tab(line);
      expect(r.values, line).toEqual([]);
      expect(r.asked, line).toEqual([]);
    }
  });

  it('snapshot names of the VM on the line', async () => {
    const r = await tab('snapshot revert web ');
    expect(r.values).toEqual(['before-upgrade', 'clean']);
    expect(r.asked).toEqual(['snapshots:web']);
  });

  it('image refs (and files) for --image, image refs for image pull', async () => {
    expect(await tab('create web --image deb')).toMatchObject({
      values: ['debian-12', 'debian'],
      files: true,
    });
    expect(await tab('image pull ')).toMatchObject({ values: ['debian-12', 'debian'], files: false });
    expect(await tab('image import ')).toMatchObject({ values: [], files: true });
  });

  it('command names after help, at the top and in a group', async () => {
    expect((await tab('help sn')).values).toEqual(['snapshot']);
    expect((await tab('snapshot help re')).values).toEqual(['revert']);
  });

  it('file names for the command after --', async () => {
    expect(await tab('exec web -- ')).toMatchObject({ values: [], files: true });
  });
});

describe('the answer the shells read', () => {
  it('one value a line, a tab before its description, then the directive', () => {
    const text = formatCompletion({
      candidates: [{ value: 'start', description: 'start a VM' }, { value: 'web' }],
      files: true,
    });
    expect(text).toBe('start\tstart a VM\nweb\n:files\n');
  });

  it('leaves out a name with an escape sequence or a newline: it never reaches the shell line', () => {
    const text = formatCompletion({
      candidates: [{ value: 'ok' }, { value: 'evil\u001b]52;c;x\u0007' }, { value: 'two\nlines' }],
      files: false,
    });
    expect(text).toBe('ok\n:plain\n');
  });
});

describe('live values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roost-complete-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the connection the line names', () => {
    expect(connectionOnLine(['-c', 'qemu:///system', 'start'])).toEqual({ uri: 'qemu:///system' });
    expect(connectionOnLine(['--connect=test:///default'])).toEqual({ uri: 'test:///default' });
    expect(connectionOnLine(['-H', 'lab', 'start'])).toEqual({ host: 'lab' });
    expect(connectionOnLine(['exec', 'web', '--', '-c', 'x'])).toEqual({});
  });

  it('hosts.yaml in any plain shape; missing, malformed or odd names give nothing', async () => {
    const file = join(dir, 'hosts.yaml');
    expect([...(await readHosts(dir)).keys()]).toEqual([]);
    writeFileSync(
      file,
      'hosts:\n  lab: qemu+ssh://me@lab/session\n  nas:\n    uri: qemu+ssh://nas/session\n',
    );
    expect(await readHosts(dir)).toEqual(
      new Map([
        ['lab', 'qemu+ssh://me@lab/session'],
        ['nas', 'qemu+ssh://nas/session'],
      ]),
    );
    writeFileSync(file, '- name: lab\n  uri: qemu+ssh://lab/session\n- name: "bad name;rm"\n- 3\n');
    expect([...(await readHosts(dir)).keys()]).toEqual(['lab']);
    writeFileSync(file, 'hosts: [unclosed\n  : :');
    expect([...(await readHosts(dir)).keys()]).toEqual([]);
    writeFileSync(file, 'just a string');
    expect([...(await readHosts(dir)).keys()]).toEqual([]);
  });

  it('no VM names when no daemon listens (the integration test checks that none was started)', async () => {
    const env = { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'run'), XDG_CONFIG_HOME: join(dir, 'config') };
    expect(await liveValues(['start', ''], env).vms()).toEqual([]);
  });

  it('no names over an ssh URI (it could ask for a password)', async () => {
    const env = { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'run') };
    expect(await liveValues(['-c', 'qemu+ssh://nobody@127.0.0.1:1/session', 'start', ''], env).vms()).toEqual(
      [],
    );
  });
});
