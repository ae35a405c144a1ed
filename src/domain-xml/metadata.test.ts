import { describe, expect, it } from 'vitest';
import { buildRoostElement } from './metadata.js';
import { parseDomainXml } from './parse.js';
import { escapeText } from './xml.js';

// Any domain in the session can carry roost's element (virt-manager, `virsh define` of a file someone sent):
// what it says about ssh is checked when read, never trusted.
function withMetadata(fields: Record<string, string>): string {
  const children = Object.entries(fields)
    .map(([k, v]) => `<roost:${k}>${escapeText(v)}</roost:${k}>`)
    .join('');
  return `<domain type='kvm'><name>x</name><metadata><roost:vm xmlns:roost='https://roost.dev/xmlns/vm/1'>${children}</roost:vm></metadata></domain>`;
}

describe('roost metadata read from a domain', () => {
  it('keeps a valid ssh user and key path', () => {
    const p = parseDomainXml(
      withMetadata({ 'created-by': 'roost', 'ssh-user': 'debian', 'ssh-key-path': '/home/me/.ssh/id ed' }),
    );
    expect(p.roost).toEqual({ createdBy: 'roost', sshUser: 'debian', sshKeyPath: '/home/me/.ssh/id ed' });
  });

  it.each([
    ['ssh-user', 'bob\nHost *\n  ProxyCommand touch /tmp/x', /not a user name/],
    ['ssh-user', 'Bob', /not a user name/],
    ['ssh-user', '-oProxyCommand=x', /not a user name/],
    ['ssh-user', 'a'.repeat(33), /not a user name/],
    ['ssh-user', '', /not a user name/],
    ['ssh-key-path', '/k\nHost *', /control character/],
    ['ssh-key-path', '/k\u0085', /control character/],
    ['ssh-key-path', 'relative/key', /absolute/],
    ['ssh-key-path', `/${'a'.repeat(5000)}`, /longer than/],
  ])('refuses %s %j and says why', (field, value, why) => {
    const p = parseDomainXml(withMetadata({ 'created-by': 'x', [field]: value }));
    expect(p.roost?.sshUser).toBeUndefined();
    expect(p.roost?.sshKeyPath).toBeUndefined();
    expect(p.roost?.refused).toEqual([{ field, reason: expect.stringMatching(why) }]);
  });

  it('refuses to write an ssh user it would refuse to read', () => {
    expect(() => buildRoostElement({ createdBy: 'roost', sshUser: 'bob\nHost *' })).toThrow(/single line/);
    expect(() => buildRoostElement({ createdBy: 'roost', sshUser: 'bob smith' })).toThrow(/not a user name/);
    expect(() => buildRoostElement({ createdBy: 'roost', sshKeyPath: 'key' })).toThrow(/absolute/);
  });
});
