import { describe, expect, it } from 'vitest';
import { CreateBody, NameParams, PortParams, RefParams } from './schemas.js';

describe('request schemas: hostile input', () => {
  it.each(['a/b', '../x', 'a\u0000b', 'a\nb', 'a\u001b[31m', 'a\u202eb', '', 'x'.repeat(256)])(
    'a VM name in a path is never %j',
    (name) => expect(NameParams.safeParse({ name }).success).toBe(false),
  );
  it.each(['web', 'my vm', '..', 'x'.repeat(255)])('a VM name in a path may be %j', (name) =>
    expect(NameParams.safeParse({ name }).success).toBe(true),
  );

  it.each(['..', '../x', 'a b', '-rf', '$(id)', '<x>', 'x'.repeat(64)])(
    'a new VM is never called %j',
    (name) => expect(CreateBody.safeParse({ name, kernel: '/k' }).success).toBe(false),
  );
  it.each([
    { kernel: '/k\n' },
    { image: '/a\u0000b' },
    { cmdline: 'a\nb' },
    { sshUser: 'bob\nHost *' },
    { sshUser: 'Root' },
    { ports: ['8080:80\n'] },
    { network: 'bridge=a\u001b' },
    { cloudConfig: 'runcmd: [echo \u001b[2J]' },
    { cloudConfig: 'x'.repeat(1024 ** 2 + 1) },
    { evil: 1 },
  ])('refuses a create body with %j', (more) =>
    expect(CreateBody.safeParse({ name: 'web', kernel: '/k', ...more }).success).toBe(false),
  );

  it.each(['../../../victim', 'a/b', '.hidden', '..', 'debian-12\n', 'a\u0000', ''])(
    'an image name is never %j',
    (ref) => expect(RefParams.safeParse({ ref }).success).toBe(false),
  );
  it.each(['debian-12', 'ubuntu-24.04', 'my_image'])('an image name may be %j', (ref) =>
    expect(RefParams.safeParse({ ref }).success).toBe(true),
  );

  it('a cloud-config as text keeps its lines and tabs', () => {
    const cloudConfig = '#cloud-config\r\nruncmd:\n\t- [touch, /ok]\n';
    expect(CreateBody.safeParse({ name: 'web', image: '/i', cloudConfig }).success).toBe(true);
  });

  it('a port spec in a path holds no control character', () => {
    expect(PortParams.safeParse({ name: 'web', spec: '8080\n' }).success).toBe(false);
    expect(PortParams.safeParse({ name: 'web', spec: '8080:80/tcp' }).success).toBe(true);
  });
});
