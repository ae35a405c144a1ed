import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../errors.js';
import { LibvirtError } from '../libvirt/errors.js';
import { errorValue } from '../libvirt/testing.js';
import { toApiError } from './http-errors.js';

describe('toApiError', () => {
  it('answers 404 for a VM that is not there, and for one removed while the request read it', () => {
    expect(toApiError(new NotFoundError('VM_NOT_FOUND', "no VM named 'x'")).status).toBe(404);
    const gone = toApiError(
      new LibvirtError(errorValue(42, 'Domain not found: no domain with matching uuid')),
    );
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'VM_NOT_FOUND' } } });
  });

  it('answers 500 with NO_SPACE (not INTERNAL) for a full disk', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      path: '/d/seeds/web.iso',
    });
    expect(toApiError(full)).toMatchObject({ status: 500, body: { error: { code: 'NO_SPACE' } } });
  });
});
