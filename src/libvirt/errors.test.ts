import { describe, expect, it } from 'vitest';
import { ConnectionClosedError, LibvirtError, ProtocolError, VirErrorCode, isNotFound } from './errors.js';
import { errorValue } from './testing.js';

describe('errors', () => {
  it('LibvirtError keeps the daemon fields and a string code', () => {
    const e = new LibvirtError(errorValue(42, 'Domain not found', 20));
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('LIBVIRT_ERROR');
    expect(e.virErrorCode).toBe(42);
    expect(e.virErrorDomain).toBe(20);
    expect(e.level).toBe(2);
    expect(e.message).toBe('Domain not found');
    expect(e.isNotFound()).toBe(true);
  });

  it('isNotFound covers domain, network, pool, volume and snapshot, and looks through causes', () => {
    for (const code of [42, 43, 49, 50, 72])
      expect(isNotFound(new LibvirtError(errorValue(code, 'x')))).toBe(true);
    for (const code of [1, 9, 39, 55])
      expect(isNotFound(new LibvirtError(errorValue(code, 'x')))).toBe(false);
    const wrapped = new Error('lookup failed', { cause: new LibvirtError(errorValue(50, 'no vol')) });
    expect(isNotFound(wrapped)).toBe(true);
    expect(isNotFound(new ConnectionClosedError())).toBe(false);
    expect(isNotFound('nope')).toBe(false);
  });

  it('a message-less remote error still says something', () => {
    expect(new LibvirtError({ ...errorValue(9, 'x'), message: null }).message).toBe('libvirt error 9');
  });

  it('other errors carry codes and causes', () => {
    const cause = new Error('EPIPE');
    const c = new ConnectionClosedError('gone', { cause });
    expect(c.code).toBe('LIBVIRT_CONNECTION_CLOSED');
    expect(c.cause).toBe(cause);
    expect(new ProtocolError('PROTOCOL_BAD_LENGTH', 'x').code).toBe('PROTOCOL_BAD_LENGTH');
  });

  it("VirErrorCode has virErrorNumber's values (include/libvirt/virterror.h)", () => {
    expect(VirErrorCode).toMatchObject({
      INTERNAL_ERROR: 1,
      NO_SUPPORT: 3,
      INVALID_ARG: 8,
      OPERATION_FAILED: 9,
      XML_ERROR: 27,
      DOM_EXIST: 28,
      XML_DETAIL: 35,
      SYSTEM_ERROR: 38,
      RPC: 39,
      NO_DOMAIN: 42,
      NO_NETWORK: 43,
      AUTH_FAILED: 45,
      NO_STORAGE_POOL: 49,
      NO_STORAGE_VOL: 50,
      OPERATION_INVALID: 55,
      CONFIG_UNSUPPORTED: 67,
      OPERATION_TIMEOUT: 68,
      NO_DOMAIN_SNAPSHOT: 72,
      ARGUMENT_UNSUPPORTED: 74,
      OPERATION_UNSUPPORTED: 84,
      AGENT_UNRESPONSIVE: 86,
      RESOURCE_BUSY: 87,
      ACCESS_DENIED: 88,
      STORAGE_VOL_EXIST: 90,
      XML_INVALID_SCHEMA: 92,
    });
  });
});
