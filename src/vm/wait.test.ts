import { describe, expect, it } from 'vitest';
import { parsePortForward } from '../net/port-spec.js';
import { checkWait, forwardFor, parseWait } from './wait.js';

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
