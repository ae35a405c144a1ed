import { describe, expect, it } from 'vitest';
import { withPath } from '../errors.js';
import { LibvirtError } from '../libvirt/errors.js';
import { errorValue } from '../libvirt/testing.js';
import { describeError } from './errors.js';

const errno = (code: string, message: string, path?: string) =>
  Object.assign(new Error(message), { code, ...(path ? { path } : {}) });

describe('describeError', () => {
  it('reports a full disk as NO_SPACE with the path, not INTERNAL', () => {
    const e = describeError(
      errno('ENOSPC', "ENOSPC: no space left on device, open '/data/seeds/web.iso'", '/data/seeds/web.iso'),
    );
    expect(e).toMatchObject({
      code: 'NO_SPACE',
      message: 'no space left on device: cannot write /data/seeds/web.iso',
      exitCode: 1,
    });
    expect(e.hint).toContain('df -h /data/seeds');
  });

  it('names the path withPath added to a write error that had none', () => {
    const e = describeError(withPath(errno('ENOSPC', 'ENOSPC: no space left on device, write'), '/d/x.iso'));
    expect(e.message).toBe('no space left on device: cannot write /d/x.iso');
  });

  it('finds ENOSPC in the cause chain, and a used-up quota too', () => {
    const wrapped = new Error('writing the seed failed', { cause: errno('EDQUOT', 'EDQUOT', '/q/f') });
    expect(describeError(wrapped)).toMatchObject({
      code: 'NO_SPACE',
      message: 'disk quota exceeded: cannot write /q/f',
    });
  });

  it('reports the daemon failing to write a volume for lack of space as NO_SPACE', () => {
    const lib = new LibvirtError(
      errorValue(38, "cannot allocate '/pool/web.qcow2': No space left on device"),
    );
    expect(describeError(lib)).toMatchObject({ code: 'NO_SPACE', exitCode: 1 });
    expect(describeError(lib).message).toContain('/pool/web.qcow2');
  });

  it('reports a domain that vanished mid-command as VM_NOT_FOUND', () => {
    const lib = new LibvirtError(errorValue(42, 'Domain not found: no domain with matching uuid'));
    expect(describeError(lib)).toMatchObject({ code: 'VM_NOT_FOUND', exitCode: 1 });
  });
});
