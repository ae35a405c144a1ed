import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildMetaData, buildNetworkConfig, newInstanceId } from './meta-data.js';
import { buildUserData, checkedCloudConfig, mergeCloudConfig, parseCloudConfig } from './user-data.js';

const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl roost';

describe('user-data', () => {
  it('creates the login user with the key and passwordless sudo, and sets the hostname', () => {
    const text = buildUserData({ user: 'debian', sshPublicKeys: [key], hostname: 'web' });
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    expect(parse(text)).toEqual({
      hostname: 'web',
      manage_etc_hosts: true,
      users: [
        {
          name: 'debian',
          gecos: 'roost',
          shell: '/bin/bash',
          sudo: 'ALL=(ALL) NOPASSWD:ALL',
          lock_passwd: true,
          ssh_authorized_keys: [key],
        },
      ],
      ssh_pwauth: false,
    });
  });

  it('merges the user’s cloud-config: mappings deep, lists concatenated, scalars replaced', () => {
    const extra = parseCloudConfig(
      `#cloud-config
packages: [nginx]
users:
  - name: alice
ssh_pwauth: true
write_files:
  - path: /etc/motd
    content: hi
`,
      'extra.yaml',
    );
    const merged = parse(
      buildUserData({ user: 'debian', sshPublicKeys: [key], hostname: 'web', shell: '/bin/sh', extra }),
    );
    expect(merged.users.map((u: { name: string }) => u.name)).toEqual(['debian', 'alice']);
    expect(merged.users[0].shell).toBe('/bin/sh');
    expect(merged.packages).toEqual(['nginx']);
    expect(merged.ssh_pwauth).toBe(true);
    expect(merged.hostname).toBe('web');
    expect(mergeCloudConfig({ a: { b: [1], c: 1 } }, { a: { b: [2], d: 2 } })).toEqual({
      a: { b: [1, 2], c: 1, d: 2 },
    });
  });

  it('rejects what is not a #cloud-config mapping, naming the line of syntax errors', () => {
    expect(() => parseCloudConfig('#!/bin/sh\necho hi\n', 'x.sh')).toThrow(/only #cloud-config/);
    expect(() => parseCloudConfig('- a\n- b\n', 'l.yaml')).toThrow(/must be a YAML mapping/);
    expect(() => parseCloudConfig('a: 1\nb: [1,\n', 'bad.yaml')).toThrow(/^bad\.yaml:\d+:\d+: /);
    expect(parseCloudConfig('#cloud-config\n', 'empty.yaml')).toEqual({});
  });

  it('rejects an alias bomb (billion laughs) as bad input, not a crash', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [i, k] of [...'bcdefgh'].entries())
      bomb.push(`${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`);
    expect(() => parseCloudConfig(bomb.join('\n'), 'bomb.yaml')).toThrow(
      expect.objectContaining({
        code: 'CLOUD_INIT_INVALID',
        message: expect.stringMatching(/^bomb\.yaml: .*alias/),
      }),
    );
  });

  it('rejects bad user names and keys', () => {
    expect(() => buildUserData({ user: 'Root User', sshPublicKeys: [key], hostname: 'h' })).toThrow(
      /login name/,
    );
    expect(() => buildUserData({ user: 'u', sshPublicKeys: ['not a key'], hostname: 'h' })).toThrow(
      /not an SSH public key/,
    );
  });
});

describe('the shape of a --cloud-init file', () => {
  const reject = (text: string) => checkedCloudConfig(text, 'extra.yaml');

  it.each([
    ['users: 7', /^extra\.yaml:2: 'users' is the number 7, it must be a list of users/],
    ['runcmd: 42', /^extra\.yaml:2: 'runcmd' is the number 42, it must be a list of commands/],
    [
      'packages: nginx',
      /^extra\.yaml:2: 'packages' is the string "nginx", it must be a list of package names/,
    ],
    ['ssh_authorized_keys: ssh-ed25519 AAAA', /^extra\.yaml:2: 'ssh_authorized_keys' is the string/],
    ['users:\n  name: alice', /^extra\.yaml:3: 'users' is a mapping, it must be a list of users/],
    ['mounts: /dev/vdb', /^extra\.yaml:2: 'mounts' is the string/],
    ['hostname: [a, b]', /^extra\.yaml:2: 'hostname' is a list, it must be a host name/],
  ])('refuses %j with the key and its line', async (body, message) => {
    await expect(reject(`#cloud-config\n${body}\n`)).rejects.toMatchObject({
      code: 'CLOUD_INIT_INVALID',
      exitCode: 2,
      message: expect.stringMatching(message),
    });
  });

  it('names the entry inside a list: its key and the line it is on', async () => {
    await expect(
      reject('#cloud-config\nusers:\n  - name: alice\n  - gecos: nobody\nwrite_files:\n  - content: x\n'),
    ).rejects.toThrow(/^extra\.yaml:4: 'users\[1\]\.name' is missing: 'users' must be a list of users/);
    await expect(
      reject('#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: 7\n'),
    ).rejects.toThrow(/^extra\.yaml:4: 'write_files\[0\]\.content' is the number 7/);
    await expect(reject('#cloud-config\nruncmd:\n  - [echo, hi]\n  - {a: 1}\n')).rejects.toThrow(
      /^extra\.yaml:4: 'runcmd\[1\]' is a mapping/,
    );
  });

  it('accepts the usual shapes, numbers in command and mount lines included', async () => {
    const c = await checkedCloudConfig(
      `#cloud-config
users: [default, {name: alice, groups: [wheel]}]
runcmd: [[sleep, 5], "echo hi", [sh, -c, "true"]]
bootcmd: [[modprobe, 9p]]
packages: [nginx, [libc6, 2.36]]
write_files: [{path: /etc/motd, content: hi, permissions: '0644'}]
mounts: [[/dev/vdb, /mnt, auto, "defaults,nofail", 0, 2]]
ssh_authorized_keys: ['ssh-ed25519 AAAA x']
manage_etc_hosts: localhost
ssh_pwauth: false
anything_else: {cloud-init: decides}
`,
      'ok.yaml',
    );
    const merged = parse(buildUserData({ user: 'debian', sshPublicKeys: [key], hostname: 'web', extra: c }));
    expect(merged.users[0].name).toBe('debian');
    expect(merged.users.slice(1)).toEqual(['default', { name: 'alice', groups: ['wheel'] }]);
  });

  it('never drops roost’s login user, even for a config that skipped the file check', () => {
    for (const users of [7, 'alice', { name: 'alice' }, null]) {
      expect(() =>
        buildUserData({ user: 'debian', sshPublicKeys: [key], hostname: 'web', extra: { users } }),
      ).toThrow(/'users' must be a list: roost merges its own into it/);
    }
  });
});

describe('meta-data and network-config', () => {
  it('meta-data carries a fresh instance id and the hostname', () => {
    const a = newInstanceId();
    expect(a).not.toBe(newInstanceId());
    expect(parse(buildMetaData({ instanceId: a, hostname: 'web' }))).toEqual({
      'instance-id': a,
      'local-hostname': 'web',
    });
  });

  it('network-config v2: DHCP on the NIC matched by MAC, else by name e*', () => {
    expect(parse(buildNetworkConfig({ mac: '52:54:00:AB:CD:EF' }))).toEqual({
      version: 2,
      ethernets: { primary: { match: { macaddress: '52:54:00:ab:cd:ef' }, dhcp4: true } },
    });
    expect(parse(buildNetworkConfig())).toEqual({
      version: 2,
      ethernets: { primary: { match: { name: 'e*' }, dhcp4: true } },
    });
    expect(() => buildNetworkConfig({ mac: 'nope' })).toThrow(/MAC/);
  });

  it('network-config with a second NIC: DHCP there too, without its routes and DNS', () => {
    expect(parse(buildNetworkConfig({ mac: '52:54:00:00:00:01', otherMacs: ['52:54:00:00:00:02'] }))).toEqual(
      {
        version: 2,
        ethernets: {
          primary: { match: { macaddress: '52:54:00:00:00:01' }, dhcp4: true },
          nic1: {
            match: { macaddress: '52:54:00:00:00:02' },
            dhcp4: true,
            'dhcp4-overrides': { 'use-routes': false, 'use-dns': false },
          },
        },
      },
    );
    expect(() => buildNetworkConfig({ mac: '52:54:00:00:00:01', otherMacs: ['x'] })).toThrow(/MAC/);
  });
});
