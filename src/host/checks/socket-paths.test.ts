import { describe, expect, it } from 'vitest';
import {
  longestSafeName,
  PASST_SOCKET_PATH_MAX,
  sessionRuntimeBase,
  socketPathCheck,
} from './socket-paths.js';

describe('socketPathCheck', () => {
  it('is ok under /run/user/UID, where any name fits', () => {
    const r = socketPathCheck({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000);
    expect(r).toMatchObject({ id: 'socket-paths', status: 'ok' });
    expect(longestSafeName('/run/user/1000')).toBeGreaterThanOrEqual(20);
  });

  it('computes the same length libvirt builds for a passt NIC', () => {
    const base = '/run/user/1000';
    const name = 'x'.repeat(longestSafeName(base));
    // libvirt: <runtime>/libvirt/qemu/run/passt/<id>-<name>-net0.socket, with a three-digit id.
    expect(`${base}/libvirt/qemu/run/passt/123-${name}-net0.socket`).toHaveLength(PASST_SOCKET_PATH_MAX);
  });

  it('warns with the longest safe name and a fix when the runtime dir is long', () => {
    const long = '/var/lib/roost-test/.cache/roost-bench-net/run'; // what hid a benchmark's passt lease
    const r = socketPathCheck({ XDG_RUNTIME_DIR: long }, 995, (p) => p === '/run/user/995');
    expect(r.status).toBe('warn');
    expect(r.detail).toContain(`more than ${longestSafeName(long)} characters`);
    expect(r.fix).toBe('export XDG_RUNTIME_DIR=/run/user/995');
  });

  it('fails when no name fits, and offers no fix it cannot back', () => {
    const r = socketPathCheck({ XDG_RUNTIME_DIR: '/' + 'd'.repeat(80) }, 995, () => false);
    expect(r.status).toBe('fail');
    expect(r.fix).toBeUndefined();
  });

  it('falls back like GLib: XDG_RUNTIME_DIR, then the cache dir', () => {
    expect(sessionRuntimeBase({ XDG_RUNTIME_DIR: '/run/user/7', HOME: '/home/a' })).toBe('/run/user/7');
    expect(sessionRuntimeBase({ XDG_CACHE_HOME: '/c', HOME: '/home/a' })).toBe('/c');
    expect(sessionRuntimeBase({ HOME: '/home/a' })).toBe('/home/a/.cache');
  });
});
