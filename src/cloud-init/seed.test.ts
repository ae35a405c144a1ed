import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { roostPaths } from '../paths.js';
import { createSeed } from './seed.js';
import { ensureRoostSshKey, readSshPublicKey } from './ssh-key.js';

const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host';
let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'roost-seed-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

describe('createSeed', () => {
  it.skipIf(spawnSync('xorriso', ['-version']).error !== undefined)(
    'writes a private cidata ISO whose files cloud-init reads back',
    async () => {
      const path = join(home, 'seeds', 'web.iso');
      const seed = await createSeed({
        path,
        hostname: 'web',
        user: 'debian',
        sshPublicKeys: [key],
        mac: '52:54:00:12:34:56',
      });
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const out = join(home, 'x');
      const r = spawnSync('xorriso', ['-osirrox', 'on', '-indev', path, '-extract', '/', out], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/Volume id\s+:\s+'cidata'/);
      const userData = await readFile(join(out, 'user-data'), 'utf8');
      expect(userData.split('\n')[0]).toBe('#cloud-config');
      expect(parse(userData).users[0].ssh_authorized_keys).toEqual([key]);
      expect(parse(await readFile(join(out, 'meta-data'), 'utf8'))).toEqual({
        'instance-id': seed.instanceId,
        'local-hostname': 'web',
      });
      expect(parse(await readFile(join(out, 'network-config'), 'utf8')).ethernets.primary.match).toEqual({
        macaddress: '52:54:00:12:34:56',
      });
    },
  );
});

describe('ensureRoostSshKey', () => {
  it('uses the user’s own key, preferring ed25519', async () => {
    await mkdir(join(home, '.ssh'));
    await writeFile(join(home, '.ssh', 'id_rsa.pub'), 'ssh-rsa AAAAB3NzaC1yc2E= rsa\n');
    await writeFile(join(home, '.ssh', 'id_ed25519.pub'), `${key}\n`);
    await writeFile(join(home, '.ssh', 'id_ed25519'), 'private');
    const k = await ensureRoostSshKey(roostPaths({ HOME: home }), { home });
    expect(k).toEqual({
      publicKey: key,
      publicKeyPath: join(home, '.ssh', 'id_ed25519.pub'),
      privateKeyPath: join(home, '.ssh', 'id_ed25519'),
      generated: false,
    });
  });

  it.skipIf(spawnSync('ssh-keygen', ['-?']).error !== undefined)(
    'generates roost’s own key once when the user has none',
    async () => {
      const paths = roostPaths({ HOME: home });
      const k = await ensureRoostSshKey(paths, { home });
      const priv = join(paths.data, 'ssh', 'id_ed25519');
      expect(k).toMatchObject({ privateKeyPath: priv, publicKeyPath: `${priv}.pub`, generated: true });
      expect(k.publicKey).toMatch(/^ssh-ed25519 \S+ roost$/);
      expect((await stat(priv)).mode & 0o777).toBe(0o600);
      expect((await stat(join(paths.data, 'ssh'))).mode & 0o777).toBe(0o700);
      const again = await ensureRoostSshKey(paths, { home });
      expect(again).toEqual({ ...k, generated: false });
    },
  );

  it('reads --ssh-key given as the private or the public file, and rejects non-keys', async () => {
    await writeFile(join(home, 'k.pub'), `${key}\n`);
    await writeFile(join(home, 'k'), 'private');
    expect(await readSshPublicKey(join(home, 'k'))).toMatchObject({
      publicKey: key,
      privateKeyPath: join(home, 'k'),
    });
    expect(
      await ensureRoostSshKey(roostPaths({ HOME: home }), { sshKey: join(home, 'k.pub'), home }),
    ).toMatchObject({
      publicKey: key,
    });
    await writeFile(join(home, 'bad.pub'), 'hello\n');
    await expect(readSshPublicKey(join(home, 'bad.pub'))).rejects.toMatchObject({ code: 'INVALID_SSH_KEY' });
    await expect(readSshPublicKey(join(home, 'none'))).rejects.toMatchObject({ code: 'SSH_KEY_UNREADABLE' });
  });
});
