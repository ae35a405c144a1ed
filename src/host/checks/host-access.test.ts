import { describe, expect, it } from 'vitest';
import { hostAccessCheck } from './host-access.js';

describe('hostAccessCheck', () => {
  it('says a passt guest reaches the host loopback, and that none needs a bridge, on libvirt 11.3', () => {
    const r = hostAccessCheck({ libvirtVersion: 11_003_000 });
    expect(r).toMatchObject({ id: 'host-access', status: 'warn' });
    expect(r.detail).toContain('loopback only — libvirt 11.3.0 starts passt without --no-map-gw');
    expect(r.detail).toContain("reaches services bound to this host's 127.0.0.1 at its gateway address");
    expect(r.detail).toContain('--host-access none: with --network bridge=NAME only');
    expect(r.fix).toBeUndefined();
  });
  it('is ok once the builder can give passt both modes', () => {
    const r = hostAccessCheck({ libvirtVersion: 12_000_000, passtModes: ['loopback', 'none'] });
    expect(r.status).toBe('ok');
    expect(r.detail).toContain('none and loopback');
  });
  it('does without the daemon version', () => {
    expect(hostAccessCheck({ libvirtVersion: null }).detail).toContain('— libvirt starts passt');
  });
});
