import { describe, expect, it } from 'vitest';
import { SSH_CALL_TIMEOUT_MS, callTimeoutFor } from './connect.js';
import { parseUri } from './uri.js';

describe('callTimeoutFor', () => {
  it('gives ssh URIs a per-call timeout by default, local sockets none', () => {
    expect(callTimeoutFor(parseUri('qemu+ssh://h/session'), {})).toBe(SSH_CALL_TIMEOUT_MS);
    expect(callTimeoutFor(parseUri('qemu:///session'), {})).toBe(0);
  });

  it('lets the caller choose, 0 meaning no limit', () => {
    expect(callTimeoutFor(parseUri('qemu+ssh://h/session'), { callTimeoutMs: 5000 })).toBe(5000);
    expect(callTimeoutFor(parseUri('qemu+ssh://h/session'), { callTimeoutMs: 0 })).toBe(0);
    expect(callTimeoutFor(parseUri('qemu:///session'), { callTimeoutMs: 9000 })).toBe(9000);
  });
});
