import { describe, expect, it } from 'vitest';
import { DomainXmlError } from '../domain-xml/errors.js';
import { NotFoundError, UsageError } from '../errors.js';
import { SshTunnelError } from '../libvirt/dialers/ssh.js';
import {
  CallTimeoutError,
  ConnectionClosedError,
  EventOverflowError,
  LibvirtError,
  ProtocolError,
  StreamClosedError,
} from '../libvirt/errors.js';
import { DaemonUnavailableError, SocketConnectError } from '../libvirt/errors.js';
import { errorValue } from '../libvirt/testing.js';
import { UriError } from '../libvirt/uri.js';
import { XdrError } from '../libvirt/xdr/index.js';
import { DaemonGoneError } from '../vm/steps.js';
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

  it('answers a typed error of a layer below with its own code and a status that says whose fault it was', () => {
    const cases: [Error, string, number][] = [
      [new ProtocolError('PROTOCOL_DECODE', 'the reply does not decode'), 'PROTOCOL_DECODE', 502],
      [new ProtocolError('PROTOCOL_TOO_LARGE', 'a call of 40 MiB'), 'PROTOCOL_TOO_LARGE', 500],
      [new XdrError('XDR_LIMIT', 'a string longer than its maximum'), 'XDR_LIMIT', 502],
      [new DomainXmlError('DOMAIN_XML_INVALID', 'not a <domain> document'), 'DOMAIN_XML_INVALID', 502],
      [new StreamClosedError(), 'LIBVIRT_STREAM_CLOSED', 502],
      [new SshTunnelError('ssh exited with 255', 'h', 255, null, ''), 'SSH_TUNNEL_FAILED', 502],
      [new DaemonUnavailableError('no daemon', 'timeout', '/s'), 'DAEMON_UNAVAILABLE', 503],
      [new SocketConnectError('/s', 'EACCES'), 'SOCKET_CONNECT_FAILED', 503],
      [new ConnectionClosedError(), 'LIBVIRT_CONNECTION_CLOSED', 503],
      [new DaemonGoneError('DAEMON_GONE', 'the libvirt daemon went away'), 'DAEMON_GONE', 503],
      [new CallTimeoutError('no reply in 30 s', 30_000), 'LIBVIRT_CALL_TIMEOUT', 504],
      [
        new DomainXmlError('DOMAIN_XML_NOT_FOUND', 'no NIC with MAC 52:54:00:00:00:01'),
        'DOMAIN_XML_NOT_FOUND',
        409,
      ],
      [new DomainXmlError('DOMAIN_XML_BAD_SPEC', 'a port out of range'), 'DOMAIN_XML_BAD_SPEC', 422],
      [new UriError('qemu://', 'no path'), 'URI_INVALID', 400],
      [new EventOverflowError('events were lost'), 'LIBVIRT_EVENT_OVERFLOW', 500],
    ];
    for (const [err, code, status] of cases) {
      expect(toApiError(err), code).toEqual({ status, body: { error: expect.objectContaining({ code }) } });
      expect(toApiError(err).body.error.message).toBe(err.message);
    }
  });

  it('keeps 400 for bad input, 500 with LIBVIRT_<n> for other daemon errors and INTERNAL for the unknown', () => {
    expect(toApiError(new UsageError('INVALID_SIZE', 'bad size'))).toMatchObject({ status: 400 });
    expect(toApiError(new LibvirtError(errorValue(55, 'not valid')))).toMatchObject({
      status: 500,
      body: { error: { code: 'LIBVIRT_55' } },
    });
    expect(toApiError(new TypeError('x is undefined'))).toMatchObject({
      status: 500,
      body: { error: { code: 'INTERNAL' } },
    });
  });
});
