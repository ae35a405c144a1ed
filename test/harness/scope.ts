// A test scope: unique names for everything a test creates, and a cleanup that removes all of it even when
// the test failed halfway — domains (destroyed, undefined with NVRAM and snapshot metadata), volumes,
// pools and the scope's private directory.
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { domainNames, poolNames, virsh, volumeNames } from './virsh.js';
import type { TestUser } from './test-user.js';

export interface TestScope {
  /** Prefix of every name this scope hands out, e.g. `rt-chain-3f9a1c-`. */
  readonly prefix: string;
  /** A directory owned by the test user, removed on cleanup. */
  readonly dir: string;
  /** A name unique to this scope: `prefix + suffix`. */
  name(suffix: string): string;
  /** Removes every domain, volume and pool whose name starts with the prefix, then the directory. */
  cleanup(): Promise<void>;
}

export function createScope(label: string, user: TestUser, uri: string): TestScope {
  const prefix = `rt-${label}-${randomBytes(3).toString('hex')}-`;
  const dir = join(user.home, 'scopes', prefix.slice(0, -1));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    chownSync(join(user.home, 'scopes'), user.uid, user.gid);
    chownSync(dir, user.uid, user.gid);
  }
  return {
    prefix,
    dir,
    name: (suffix) => prefix + suffix,
    cleanup: () => cleanupPrefix(uri, prefix, dir),
  };
}

export async function cleanupPrefix(uri: string, prefix: string, dir?: string): Promise<void> {
  for (const dom of (await domainNames(uri)).filter((n) => n.startsWith(prefix))) {
    await virsh(uri, ['destroy', dom], { check: false });
    await virsh(uri, ['undefine', dom, '--nvram', '--snapshots-metadata', '--checkpoints-metadata'], {
      check: false,
    });
  }
  for (const pool of await poolNames(uri)) {
    for (const vol of (await volumeNames(uri, pool)).filter((n) => n.startsWith(prefix))) {
      await virsh(uri, ['vol-delete', '--pool', pool, vol], { check: false });
    }
    if (pool.startsWith(prefix)) {
      await virsh(uri, ['pool-destroy', pool], { check: false });
      await virsh(uri, ['pool-undefine', pool], { check: false });
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}
