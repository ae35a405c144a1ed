import { describe, expect, it } from 'vitest';
import { parsePortForward } from '../net/port-spec.js';
import { checkWait, forwardFor, parseWait, readCloudInitStatus } from './wait.js';

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
