import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The guest side of `--wait ssh`, run here by a real sh and python3 against a stand-in `cloud-init` whose
 * `status --wait --long` prints dots until the test gives it its last words (and exit code).
 */
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
    const stage = (errors: string[]) => ({ errors, finished: 2, start: 1, recoverable_errors: {} });
    /** status.json of a first boot in its final stage (result.json comes at its end). */
    const running = (stageErrors: string[] = []) => {
      const v1 = { datasource: 'x', init: stage([]), 'modules-final': stage(stageErrors), stage: null };
      writeFileSync(join(dir, 'status.json'), JSON.stringify({ v1 }, null, 1));
    };
    const records = (result: unknown, stageErrors: string[] = []) => {
      running(stageErrors);
      writeFileSync(
        join(dir, 'result.json'),
        typeof result === 'string' ? result : JSON.stringify(result, null, 1),
      );
    };
    const statusSays = (said: string, code: number) => {
      writeFileSync(join(dir, 'code'), String(code));
      writeFileSync(join(dir, 'said'), said);
    };
    const run = (path: string, waits = { noRecordsS: 0.3, anywayS: 120 }) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn('/bin/sh', ['-c', cloudInitWaitCommand(dir, waits)], {
          env: { PATH: path.replace('BIN', bin) },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let stdout = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.on('close', (code) => resolve({ code, stdout }));
      });
    const statusAsked = () => existsSync(join(dir, 'status.pid'));
    return { dir, running, records, statusSays, run, statusAsked };
  }

  const clean = { v1: { datasource: 'x', errors: [], recoverable_errors: {} } };

  it("is done as soon as cloud-init's records say so, without asking cloud-init status", async () => {
    const g = guest();
    g.running();
    const r = g.run('BIN:/usr/bin:/bin');
    setTimeout(() => g.records(clean), 300);
    expect(await r).toEqual({ code: 0, stdout: `${LOGGED_IN}\nstatus: done\n` });
    expect(g.statusAsked()).toBe(false);
  });

  it.each([
    ['the result', ['boom'], []],
    ['a stage of the status (only)', [], ['boom']],
  ])(
    "errors in %s are reported in cloud-init status's own words and exit code",
    async (_w, errors, stage) => {
      const g = guest();
      g.records({ v1: { datasource: 'x', errors } }, stage);
      g.statusSays('status: error\ndetail:\nboom\n', 1);
      const r = await g.run('BIN:/usr/bin:/bin');
      expect(r).toEqual({ code: 1, stdout: `${LOGGED_IN}\nstatus: error\ndetail:\nboom\n` });
      const s = readCloudInitStatus(r.code ?? 255, afterLoggedIn(r.stdout)!);
      expect(s.kind === 'error' && s.detail).toMatch(/boom/);
    },
  );

  it.each([
    ['cloud-init disabled (no records ever)', undefined, 'status: disabled\n', 0],
    ['a result that is not JSON', '{"v1": {"err', 'status: done\n', 0],
    ['a result without the v1 errors list', '{"v2": {}}', 'status: running\n', 3],
  ])('%s: cloud-init status has the last word', async (_what, result, said, code) => {
    const g = guest();
    if (result !== undefined) g.records(result);
    const r = g.run('BIN:/usr/bin:/bin');
    setTimeout(() => g.statusSays(said, code), 500);
    expect((await r).code).toBe(code);
    expect((await r).stdout.replace(/^(.*\n)\.*/, '$1')).toBe(`${LOGGED_IN}\n${said}`);
    expect(g.statusAsked()).toBe(true);
  });

  it('a first boot still going after a while is left to cloud-init status (it sees a crashed stage)', async () => {
    const g = guest();
    g.running();
    g.statusSays('status: error\ndetail:\ncloud-final.service failed\n', 1);
    const r = await g.run('BIN:/usr/bin:/bin', { noRecordsS: 0.3, anywayS: 0.5 });
    expect(r).toEqual({
      code: 1,
      stdout: `${LOGGED_IN}\nstatus: error\ndetail:\ncloud-final.service failed\n`,
    });
  });

  it("without python3 it is cloud-init's own wait; without cloud-init there is nothing to wait for", async () => {
    const g = guest();
    g.statusSays('status: done\n', 0);
    expect(await g.run('BIN')).toEqual({ code: 0, stdout: `${LOGGED_IN}\nstatus: done\n` });
    const none = guest({ cloudInit: false });
    expect(await none.run('BIN:/usr/bin:/bin')).toEqual({ code: 0, stdout: `${LOGGED_IN}\nstatus: done\n` });
  });
});
