import { describe, expect, it } from 'vitest';
import { defaultUri, parseUri, UriError, type LibvirtUri } from './uri.js';

describe('parseUri: valid URIs', () => {
  const cases: Array<[string, Partial<LibvirtUri>]> = [
    [
      'qemu:///session',
      { transport: 'unix', scope: 'session', path: '/session', mode: 'auto', openName: 'qemu:///session' },
    ],
    ['qemu:///system', { transport: 'unix', scope: 'system', openName: 'qemu:///system' }],
    ['QEMU+UNIX:///session', { transport: 'unix', scope: 'session', openName: 'qemu:///session' }],
    [
      'qemu+unix:///session?socket=/run/user/1001/libvirt/libvirt-sock',
      { socket: '/run/user/1001/libvirt/libvirt-sock', openName: 'qemu:///session' },
    ],
    ['qemu:///session?mode=legacy', { mode: 'legacy', openName: 'qemu:///session' }],
    ['qemu:///system?mode=direct&socket=/tmp/x%20y.sock', { mode: 'direct', socket: '/tmp/x y.sock' }],
    ['qemu+unix:///session?socket=@abstract', { socket: '@abstract' }],
    [
      'qemu+ssh://alice@example.org:2222/system',
      { transport: 'ssh', user: 'alice', host: 'example.org', port: 2222, openName: 'qemu:///system' },
    ],
    ['qemu+ssh://example.org/session', { transport: 'ssh', host: 'example.org', scope: 'session' }],
    ['qemu+ssh:///system', { transport: 'ssh', openName: 'qemu:///system' }],
    ['qemu+ssh://[fe80::1]:22/system', { host: 'fe80::1', port: 22 }],
    ['qemu+ssh://a%40b@host/system', { user: 'a@b', host: 'host' }],
    [
      'qemu+ssh://host/system?keyfile=/k/id&no_verify=1&no_tty=1&command=/opt/ssh&netcat=/bin/nc&proxy=netcat',
      {
        openName: 'qemu:///system',
        params: {
          keyfile: '/k/id',
          no_verify: '1',
          no_tty: '1',
          command: '/opt/ssh',
          netcat: '/bin/nc',
          proxy: 'netcat',
        },
      },
    ],
    // Parameters that are not transport settings go to the daemon, as in libvirt.
    [
      'qemu:///session?foo=a%26b&socket=/s',
      { openName: 'qemu:///session?foo=a%26b', passthrough: [['foo', 'a&b']] },
    ],
    ['qemu:///system?name=qemu:///embed', { openName: 'qemu:///embed' }],
    // Names are case-insensitive, separators may be ';', empty sections are skipped, last one wins.
    ['qemu:///session?MODE=direct;;mode=legacy', { mode: 'legacy' }],
    // Settings of transports roost does not speak are stripped from the name, like libvirt does.
    ['qemu:///system?pkipath=/x&no_sanity=1', { openName: 'qemu:///system' }],
  ];
  it.each(cases)('%s', (raw, expected) => {
    const uri = parseUri(raw);
    expect(uri).toMatchObject({ raw, driver: 'qemu', ...expected });
  });

  it('leaves optional fields absent rather than undefined-valued', () => {
    const uri = parseUri('qemu:///session');
    expect(Object.keys(uri)).not.toContain('host');
    expect(Object.keys(uri)).not.toContain('socket');
  });
});

describe('parseUri: invalid URIs', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['session', /expected the form/],
    ['qemu:/session', /expected the form/],
    ['xen:///system', /driver 'xen' is not supported/],
    ['qemu+tls://host/system', /transport 'tls' is not supported/],
    ['qemu+bogus:///system', /unknown transport 'bogus'/],
    ['qemu+ssh+x://h/system', /more than one/],
    ['qemu://host/system', /TLS/],
    ['qemu+unix://host/system', /cannot reach host/],
    ['qemu:///', /must be \/session or \/system/],
    ['qemu:///session/', /must be \/session or \/system/],
    ['qemu:///embed', /must be \/session or \/system/],
    ['qemu:///session#frag', /fragment/],
    ['qemu+ssh://h:0/system', /port '0'/],
    ['qemu+ssh://h:70000/system', /port '70000'/],
    ['qemu+ssh://h:ab/system', /port 'ab'/],
    ['qemu+ssh://u:pw@h/system', /passwords/],
    ['qemu+ssh://@h/system', /user name/],
    ['qemu+ssh://-oProxyCommand=x/system', /host name/],
    ['qemu+ssh://h%zz/system', /percent-encoding/],
    ['qemu:///session?mode=fast', /mode 'fast'/],
    ['qemu+ssh://h/system?proxy=magic', /proxy 'magic'/],
    ['qemu:///session?socket=relative/sock', /absolute path/],
    ['qemu:///session?keyfile=/k', /only applies to qemu\+ssh/],
    ['qemu+ssh://h/system?no_verify=yes', /must be a number/],
    ['qemu+ssh://h/system?keyfile=', /needs a value/],
    ['qemu+ssh://h/system?proxy=native&socket=/s', /cannot be combined/],
    ['qemu:///session?socket=/a%00b', /NUL/],
  ];
  it.each(cases)('%s', (raw, message) => {
    let caught: unknown;
    try {
      parseUri(raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UriError);
    const err = caught as UriError;
    expect(err.code).toBe('URI_INVALID');
    expect(err.message).toMatch(message);
    expect(err.message).toContain('qemu:///session'); // every error shows a valid example
  });
});

describe('defaultUri', () => {
  it('prefers ROOST_CONNECT, then LIBVIRT_DEFAULT_URI, then the session', () => {
    expect(defaultUri({ ROOST_CONNECT: 'qemu:///system', LIBVIRT_DEFAULT_URI: 'qemu+ssh://h/system' })).toBe(
      'qemu:///system',
    );
    expect(defaultUri({ LIBVIRT_DEFAULT_URI: 'qemu+ssh://h/system' })).toBe('qemu+ssh://h/system');
    expect(defaultUri({ ROOST_CONNECT: ' ', LIBVIRT_DEFAULT_URI: '' })).toBe('qemu:///session');
    expect(defaultUri({})).toBe('qemu:///session');
  });
});
