import { describe, expect, it } from 'vitest';
import { describeError } from './describe-error.js';
import { UsageError, withPath } from './errors.js';
import { SshTunnelError } from './libvirt/dialers/ssh.js';
import {
  CallTimeoutError,
  ConnectionClosedError,
  EventOverflowError,
  LibvirtError,
  ProtocolError,
  StreamClosedError,
} from './libvirt/errors.js';
import { DaemonUnavailableError, SocketConnectError } from './libvirt/errors.js';
import { errorValue } from './libvirt/testing.js';
import { UriError } from './libvirt/uri.js';
import { XdrError } from './libvirt/xdr/index.js';

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

  it("keeps the code and hint of roost's own errors, and exit 2 for bad input", () => {
    expect(describeError(new UsageError('INVALID_SIZE', 'bad size', { hint: 'use 10G' }))).toEqual({
      code: 'INVALID_SIZE',
      message: 'bad size',
      hint: 'use 10G',
      detail: undefined,
      exitCode: 2,
    });
  });
});

describe('describeError on the typed errors of the layers below', () => {
  it('gives each of its own code, not INTERNAL', () => {
    const cases: [Error, string][] = [
      [new ProtocolError('PROTOCOL_DECODE', 'the reply does not decode'), 'PROTOCOL_DECODE'],
      [new ProtocolError('PROTOCOL_BAD_HEADER', 'unknown packet type 9'), 'PROTOCOL_BAD_HEADER'],
      [new XdrError('XDR_SHORT', '4 bytes needed, 2 left'), 'XDR_SHORT'],
      [new StreamClosedError(), 'LIBVIRT_STREAM_CLOSED'],
      [new EventOverflowError('events were lost'), 'LIBVIRT_EVENT_OVERFLOW'],
      [new SshTunnelError('ssh exited with 255', 'h', 255, null, 'Permission denied'), 'SSH_TUNNEL_FAILED'],
    ];
    for (const [err, code] of cases) {
      expect(describeError(err), code).toEqual({ code, message: err.message, exitCode: 1 });
    }
  });

  it("gives any error class with a code of roost's form its own code", () => {
    class WidgetError extends Error {
      readonly code = 'WIDGET_JAMMED';
    }
    expect(describeError(new WidgetError('the widget jammed'))).toMatchObject({
      code: 'WIDGET_JAMMED',
      exitCode: 1,
    });
  });

  it("adds the fix to the libvirt client's connection failures", () => {
    const closed = describeError(new ConnectionClosedError('the daemon closed the connection'));
    expect(closed).toMatchObject({
      code: 'LIBVIRT_CONNECTION_CLOSED',
      message: 'the daemon closed the connection',
      exitCode: 1,
    });
    expect(closed.hint).toMatch(/run the command again/);
    const timeout = describeError(new CallTimeoutError('no reply in 30 s', 30_000));
    expect(timeout).toMatchObject({ code: 'LIBVIRT_CALL_TIMEOUT', exitCode: 1 });
    expect(timeout.hint).toMatch(/check the remote host/);
    const down = new DaemonUnavailableError(
      'no daemon',
      'not-installed',
      '/run/user/1/libvirt/virtqemud-sock',
    );
    expect(describeError(down)).toMatchObject({
      code: 'DAEMON_UNAVAILABLE',
      hint: 'check the host with: roost doctor',
    });
    const refused = new SocketConnectError('/run/user/1/libvirt/virtqemud-sock', 'EACCES');
    expect(describeError(refused)).toMatchObject({
      code: 'SOCKET_CONNECT_FAILED',
      hint: 'check the host with: roost doctor',
    });
  });

  it('points at the remote host, not a local daemon, when the ssh tunnel under the connection failed', () => {
    const tunnel = new SshTunnelError('ssh tunnel to lab exited with code 255', 'lab', 255, null, '');
    const closed = describeError(
      new ConnectionClosedError(`connection to the libvirt daemon failed: ${tunnel.message}`, {
        cause: tunnel,
      }),
    );
    expect(closed.code).toBe('LIBVIRT_CONNECTION_CLOSED');
    expect(closed.hint).toMatch(/host is up and answers ssh/);
    expect(closed.hint).not.toMatch(/daemon starts on demand/);
    // The tunnel's own error keeps its code and no borrowed hint.
    expect(describeError(tunnel)).toEqual({
      code: 'SSH_TUNNEL_FAILED',
      message: tunnel.message,
      exitCode: 1,
    });
  });

  it('reports a bad libvirt URI as bad input: exit 2', () => {
    expect(describeError(new UriError('qemu://', 'no path'))).toMatchObject({
      code: 'URI_INVALID',
      exitCode: 2,
    });
  });

  it('keeps LIBVIRT_<n> for any other error the daemon reports', () => {
    const lib = new LibvirtError(errorValue(55, 'Requested operation is not valid: domain is not running'));
    expect(describeError(lib)).toMatchObject({ code: 'LIBVIRT_55', exitCode: 1 });
  });

  it("leaves Node's own errors INTERNAL: they say where roost failed, not what", () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), {
      code: 'ENOENT',
      errno: -2,
      syscall: 'open',
    });
    const node = Object.assign(new TypeError('The "path" argument must be of type string'), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
    const abort = Object.assign(new Error('The operation was aborted'), { code: 'ABORT_ERR' });
    const zlib = Object.assign(new Error('incorrect header check'), { code: 'Z_DATA_ERROR', errno: -3 });
    for (const err of [enoent, node, abort, zlib, new Error('plain'), 'a string']) {
      expect(describeError(err).code, String(err)).toBe('INTERNAL');
    }
  });
});
