// How roost reaches a VM's sshd: the forward to guest port 22 from the domain's XML, the ssh argument array (never
// a shell line), forgetting a host key, and the refusals through a fake daemon (libvirt/testing.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDomainXml } from '../domain-xml/parse.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import { roostPaths } from '../paths.js';
import type { VmContext } from './context.js';
import { forgetHostKey, knownHostsFile, resolveSshTarget, sshArgs, sshTargetOf } from './ssh.js';

let dir: string;
let fake: FakeLibvirt;
let client: LibvirtClient;
let ctx: VmContext;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roost-ssh-'));
  ({ fake, client } = await openFakeLibvirt());
  const env = { HOME: dir };
  ctx = { client, uri: 'qemu:///session', paths: roostPaths(env), env, close: () => client.close() };
});

afterEach(async () => {
  await client.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

const domainXml = (name: string, nics: string) => `<domain type='qemu'><name>${name}</name>
  <uuid>11111111-1111-1111-1111-111111111111</uuid><memory unit='KiB'>524288</memory><vcpu>1</vcpu>
  <devices>${nics}</devices></domain>`;

const forward = (address: string, start: number, to: number) => `<interface type='user'>
  <mac address='52:54:00:aa:bb:01'/>
  <portForward proto='tcp' address='${address}'><range start='${start}' to='${to}'/></portForward>
  <backend type='passt'/></interface>`;

function define(name: string, nics: string): void {
  const xml = domainXml(name, nics);
  fake.domains.set(name, { name, uuid: Buffer.alloc(16, 0x11), xml, active: true, persistent: true });
}

describe('sshTargetOf', () => {
  it('dials the host port forwarded to guest port 22, also inside a range', () => {
    expect(sshTargetOf('web', parseDomainXml(domainXml('web', forward('127.0.0.1', 2222, 22))))).toEqual({
      alias: 'web.roost',
      host: '127.0.0.1',
      port: 2222,
      user: 'root',
      identityFile: undefined,
    });
    const ranged = parseDomainXml(domainXml('r', forward('127.0.0.1', 3000, 20)));
    expect(sshTargetOf('r', ranged)).toBeUndefined(); // a single-port forward of guest 20 does not carry 22
  });

  it('has no target without a forward to guest port 22', () => {
    expect(
      sshTargetOf('web', parseDomainXml(domainXml('web', forward('127.0.0.1', 8080, 80)))),
    ).toBeUndefined();
  });
});

describe('sshArgs', () => {
  it('is an argument array: the host key pinned to the alias, the command after --', () => {
    const target = { alias: 'web.roost', host: '127.0.0.1', port: 2222, user: 'alice', identityFile: '/k' };
    const args = sshArgs(target, ctx.paths, ['uname', '-a; rm -rf /'], { batch: true });
    expect(args).toContain(`UserKnownHostsFile=${knownHostsFile(ctx.paths)}`);
    expect(args).toContain('HostKeyAlias=web.roost');
    expect(args).toContain('BatchMode=yes');
    expect(args).toContain('HashKnownHosts=no');
    expect(args.slice(args.indexOf('-i'), args.indexOf('-i') + 2)).toEqual(['-i', '/k']);
    expect(args.slice(-6)).toEqual(['-l', 'alice', '127.0.0.1', '--', 'uname', '-a; rm -rf /']);
  });
});

describe('forgetHostKey', () => {
  it("drops only that VM's lines (by its HostKeyAlias, plain or bracketed)", () => {
    const file = knownHostsFile(ctx.paths);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      ['web.roost ssh-ed25519 AAAA1', '[web.roost] ssh-ed25519 AAAA2', 'db.roost ssh-ed25519 AAAA3'].join(
        '\n',
      ),
    );
    forgetHostKey(ctx.paths, 'web');
    expect(readFileSync(file, 'utf8')).toBe('db.roost ssh-ed25519 AAAA3');
  });

  it('drops hashed lines too (OpenSSH hashes them where ssh_config says HashKnownHosts yes, as Debian does)', () => {
    const file = knownHostsFile(ctx.paths);
    mkdirSync(dirname(file), { recursive: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    const key = readFileSync(join(dir, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const hosts = ['web.roost', '[web.roost]', 'db.roost', 'web2.roost'];
    writeFileSync(file, hosts.map((h) => `${h} ${key}\n`).join(''));
    // ssh-keygen -H rewrites every name as |1|salt|HMAC, as ssh itself writes them when hashing.
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    expect(readFileSync(file, 'utf8')).not.toContain('.roost');
    forgetHostKey(ctx.paths, 'web');
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    const found = (h: string) =>
      execFileSync('ssh-keygen', ['-F', h, '-f', file], { encoding: 'utf8' }).includes(key);
    expect(['db.roost', 'web2.roost'].map(found)).toEqual([true, true]);
    expect(() => found('web.roost')).toThrow(); // ssh-keygen -F exits 1: no such host
  });
});

describe('resolveSshTarget through a fake daemon', () => {
  it("returns the passt forward with the VM's recorded login", async () => {
    define('web', forward('127.0.0.1', 2230, 22));
    expect(await resolveSshTarget(ctx, 'web')).toMatchObject({ host: '127.0.0.1', port: 2230 });
  });

  it('NO_SSH_ROUTE for a VM with neither a forward to 22 nor a bridged NIC', async () => {
    define('web', forward('127.0.0.1', 8080, 80));
    const err = (await resolveSshTarget(ctx, 'web').catch((e: unknown) => e)) as {
      code: string;
      hint: string;
    };
    expect(err.code).toBe('NO_SSH_ROUTE');
    expect(err.hint).toContain('roost port add web 2222:22');
  });

  it('a VM of another host: its forward as that host sees it, reached through ssh -W as ProxyCommand', async () => {
    define('web', forward('127.0.0.1', 2230, 22));
    const there = { ...ctx, uri: 'qemu+ssh://alice@lab:2222/session' };
    const t = await resolveSshTarget(there, 'web');
    expect(t).toMatchObject({ host: '127.0.0.1', port: 2230, alias: 'web.alice-lab-2222.roost' });
    const args = sshArgs(t, ctx.paths, ['true']);
    expect(args).toContain('HostKeyAlias=web.alice-lab-2222.roost');
    const proxy = args.find((a) => a.startsWith('ProxyCommand='));
    expect(proxy).toMatch(
      /^ProxyCommand='ssh' '-p' '2222' '-l' 'alice' .*'-W' '127\.0\.0\.1:2230' '--' 'lab'$/,
    );
    // The same VM name on this host is another VM: another alias, no jump.
    const here = await resolveSshTarget(ctx, 'web');
    expect(here.alias).toBe('web.roost');
    expect(here.via).toBeUndefined();
  });

  it('VM_NOT_FOUND for no VM of the name', async () => {
    const err = (await resolveSshTarget(ctx, 'ghost').catch((e: unknown) => e)) as { code: string };
    expect(err.code).toBe('VM_NOT_FOUND');
  });
});
