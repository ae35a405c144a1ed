import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePortForward } from '../net/port-spec.js';
import {
  afterLoggedIn,
  checkWait,
  cloudInitWaitCommand,
  forwardFor,
  LOGGED_IN,
  parseWait,
  readCloudInitStatus,
} from './wait.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code: string; exitCode: number }).code;
  }
  return undefined;
};

describe('--wait', () => {
  it('reads none, ssh and port:N', () => {
    expect(parseWait('none')).toEqual({ kind: 'none' });
    expect(parseWait('ssh')).toEqual({ kind: 'ssh' });
    expect(parseWait('port:8080')).toEqual({ kind: 'port', port: 8080 });
  });

  it.each(['', 'SSH', 'port:', 'port:0', 'port:65536', 'port:80,81', 'port:-1', 'http'])(
    'refuses %j',
    (t) => {
      expect(codeOf(() => parseWait(t))).toBe('INVALID_WAIT');
    },
  );

  it('port:N must be a guest port some --port forwards over TCP, checked before anything is made', () => {
    expect(checkWait('port:80', ['8080:80'])).toEqual({ kind: 'port', port: 80 });
    expect(codeOf(() => checkWait('port:80', []))).toBe('INVALID_WAIT');
    expect(codeOf(() => checkWait('port:53', ['5353:53/udp']))).toBe('INVALID_WAIT');
    expect(checkWait('ssh', [])).toEqual({ kind: 'ssh' });
  });

  it('finds the forward whose range carries the guest port', () => {
    const ports = ['8080:80', '9000-9009:7000-7009'].map(parsePortForward);
    expect(forwardFor(ports, 80)).toBe(ports[0]);
    expect(forwardFor(ports, 7005)).toBe(ports[1]);
    expect(codeOf(() => forwardFor(ports, 7010))).toBe('INVALID_WAIT');
  });
});

describe('--wait ssh: what cloud-init status said', () => {
  const errorOutput = [
    '......',
    'status: error',
    'boot_status_code: enabled-by-generator',
    'detail:',
    "('scripts_user', RuntimeError('Runparts: 1 failures (01-setup) in 1 attempted commands'))",
  ].join('\n');

  it('done: exit 0, and exit 2 (cloud-init 23.4+: finished, recoverable errors only)', () => {
    expect(readCloudInitStatus(0, 'status: done\n')).toEqual({ kind: 'done' });
    expect(readCloudInitStatus(2, 'status: degraded done\n')).toEqual({ kind: 'done' });
  });

  it('an error is exit 1 with status: error, and carries what cloud-init listed', () => {
    const s = readCloudInitStatus(1, errorOutput);
    expect(s.kind).toBe('error');
    expect(s.kind === 'error' && s.detail).toMatch(/^status: error\n[\s\S]*Runparts: 1 failures/);
  });

  it('exit 1 without status: error (the status command crashed) or ssh failing is asked again', () => {
    expect(
      readCloudInitStatus(1, 'Traceback (most recent call last):\njson.decoder.JSONDecodeError: x'),
    ).toEqual({
      kind: 'unknown',
      said: 'exit 1: json.decoder.JSONDecodeError: x',
    });
    expect(readCloudInitStatus(255, '')).toEqual({ kind: 'unknown', said: 'exit 255' });
    expect(readCloudInitStatus(1, 'x'.repeat(1000)).kind).toBe('unknown');
  });
});

/**
 * The guest side of `--wait ssh`, run here by a real sh and python3 against a stand-in `cloud-init` whose
 * `status --wait --long` prints dots until the test gives it its last words (and exit code).
 */
describe('--wait ssh: the login line', () => {
  it('is found as a whole line, after whatever the login shell printed first', () => {
    expect(afterLoggedIn(`${LOGGED_IN}\nstatus: done\n`)).toBe('status: done\n');
    expect(afterLoggedIn(`Welcome, from .bashrc\n${LOGGED_IN}\n..status: done\n`)).toBe('..status: done\n');
    expect(afterLoggedIn(`${LOGGED_IN}\n`)).toBe('');
    expect(afterLoggedIn(LOGGED_IN)).toBeUndefined();
    expect(afterLoggedIn(`x${LOGGED_IN}\nstatus: done\n`)).toBeUndefined();
    expect(afterLoggedIn('')).toBeUndefined();
  });
});

describe('--wait ssh: the command the guest runs', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function guest(opts: { cloudInit?: boolean } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'roost-wait-'));
    dirs.push(dir);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    if (opts.cloudInit !== false) {
      writeFileSync(
        join(bin, 'cloud-init'),
        [
          '#!/bin/sh',
          `echo $$ > '${dir}/status.pid'`,
          `while [ ! -e '${dir}/said' ]; do printf .; /bin/sleep 0.1; done`,
          `/bin/cat '${dir}/said'`,
          `exit $(/bin/cat '${dir}/code')`,
        ].join('\n'),
        { mode: 0o755 },
      );
    }
    const records = (result: unknown, stageErrors: string[] = []) => {
      const stage = (errors: string[]) => ({ errors, finished: 2, start: 1 });
      const status = { datasource: 'x', init: stage([]), 'modules-final': stage(stageErrors), stage: null };
      writeFileSync(join(dir, 'status.json'), JSON.stringify({ v1: status }, null, 1));
      writeFileSync(
        join(dir, 'result.json'),
        typeof result === 'string' ? result : JSON.stringify(result, null, 1),
      );
    };
    const statusSays = (said: string, code: number) => {
      writeFileSync(join(dir, 'code'), String(code));
      writeFileSync(join(dir, 'said'), said);
    };
    const run = (path: string) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn('/bin/sh', ['-c', cloudInitWaitCommand(dir)], {
          env: { PATH: path.replace('BIN', bin) },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let stdout = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.on('close', (code) => resolve({ code, stdout }));
      });
    const statusPid = () => Number(readFileSync(join(dir, 'status.pid'), 'utf8'));
    return { dir, records, statusSays, run, statusPid };
  }

  const alive = (pid: number) => {
    try {
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  };

  it("is done as soon as cloud-init's records say no errors, without waiting for the status command", async () => {
    const g = guest();
    const running = g.run('BIN:/usr/bin:/bin');
    setTimeout(() => g.records({ v1: { datasource: 'x', errors: [] } }), 300);
    // The stand-in's status never finishes on its own: only the result file can end this.
    const r = await running;
    expect(r).toEqual({ code: 0, stdout: `${LOGGED_IN}\nstatus: done\n` });
    expect(alive(g.statusPid())).toBe(false);
    expect(readCloudInitStatus(0, 'status: done\n')).toEqual({ kind: 'done' });
  });

  it.each([
    ['the result', ['boom'], []],
    ['a stage of the status (only)', [], ['boom']],
  ])(
    "errors in %s are reported in cloud-init status's own words and exit code",
    async (_w, result, stage) => {
      const g = guest();
      g.records({ v1: { datasource: 'x', errors: result } }, stage);
      const running = g.run('BIN:/usr/bin:/bin');
      setTimeout(() => g.statusSays('status: error\ndetail:\nboom\n', 1), 300);
      const r = await running;
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`^${LOGGED_IN}\\n\\.*status: error\\ndetail:\\nboom\\n$`));
      const s = readCloudInitStatus(r.code ?? 255, r.stdout.slice(LOGGED_IN.length + 1));
      expect(s.kind === 'error' && s.detail).toMatch(/boom/);
    },
  );

  it.each([
    ['cloud-init disabled (no records ever)', undefined, 'status: disabled\n', 0],
    ['a result file that is not JSON yet', '{"v1": {"err', 'status: done\n', 0],
    ['a result file without the v1 errors list', '{"v2": {}}', 'status: running\n', 3],
  ])('%s: the status command has the last word', async (_what, result, said, code) => {
    const g = guest();
    if (result !== undefined) g.records(result);
    const running = g.run('BIN:/usr/bin:/bin');
    setTimeout(() => g.statusSays(said, code), 300);
    const r = await running;
    expect(r.code).toBe(code);
    expect(r.stdout.replace(/^(.*\n)\.*/, '$1')).toBe(`${LOGGED_IN}\n${said}`);
  });

  it("without python3 it is cloud-init's own wait; without cloud-init there is nothing to wait for", async () => {
    const g = guest();
    g.statusSays('status: done\n', 0);
    expect(await g.run('BIN')).toEqual({ code: 0, stdout: `${LOGGED_IN}\nstatus: done\n` });
    const none = guest({ cloudInit: false });
    expect(await none.run('BIN:/usr/bin:/bin')).toEqual({ code: 0, stdout: `${LOGGED_IN}\nstatus: done\n` });
  });
});
