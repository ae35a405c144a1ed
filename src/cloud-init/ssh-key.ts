// The SSH key a new VM trusts: the one given with --ssh-key, else the user's own ~/.ssh/id_*.pub, else a key
// roost generates once in ~/.local/share/roost/ssh/id_ed25519 (ssh-keygen, argument array, no shell).
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RoostError, UsageError } from '../errors.js';
import { ensurePrivateDir, type RoostPaths } from '../paths.js';

const run = promisify(execFile);

export interface SshKey {
  /** "ssh-ed25519 AAAA… comment" */
  publicKey: string;
  publicKeyPath: string;
  /** The matching private key, when it exists (what `roost ssh` passes with -i). */
  privateKeyPath?: string;
  /** True when this call generated it. */
  generated: boolean;
}

/** Preference order of the user's keys. */
const KEY_ORDER = ['id_ed25519', 'id_ecdsa', 'id_ed25519_sk', 'id_ecdsa_sk', 'id_rsa'];

const PUBLIC_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/;

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

/** Reads a public key file (or, given a private key, its .pub). */
export async function readSshPublicKey(path: string): Promise<SshKey> {
  const pubPath = path.endsWith('.pub') ? path : `${path}.pub`;
  let text: string;
  try {
    text = await readFile(pubPath, 'utf8');
  } catch (e) {
    throw new UsageError(
      'SSH_KEY_UNREADABLE',
      `cannot read SSH public key '${pubPath}' (${(e as NodeJS.ErrnoException).code})`,
      {
        hint: path.endsWith('.pub') ? undefined : `make it with: ssh-keygen -y -f ${path} > ${pubPath}`,
      },
    );
  }
  const publicKey = text.trim().split('\n')[0]!.trim();
  if (!PUBLIC_KEY.test(publicKey))
    throw new UsageError('INVALID_SSH_KEY', `'${pubPath}' is not an SSH public key`);
  const priv = pubPath.slice(0, -'.pub'.length);
  return {
    publicKey,
    publicKeyPath: pubPath,
    privateKeyPath: (await exists(priv)) ? priv : undefined,
    generated: false,
  };
}

/** The user's own keys, ~/.ssh/id_*.pub, best first. */
export async function findUserSshKeys(home: string = process.env.HOME || homedir()): Promise<string[]> {
  const dir = join(home, '.ssh');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) =>
    /^id_[A-Za-z0-9_]+\.pub$/.test(f),
  );
  const rank = (f: string) => {
    const i = KEY_ORDER.indexOf(f.slice(0, -4));
    return i < 0 ? KEY_ORDER.length : i;
  };
  return files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((f) => join(dir, f));
}

/**
 * The key for a new VM: --ssh-key if given, else the first ~/.ssh/id_*.pub, else roost's own key in
 * DATA/ssh/id_ed25519, generated on first use.
 */
export async function ensureRoostSshKey(
  paths: Pick<RoostPaths, 'data'>,
  opts: { sshKey?: string; home?: string } = {},
): Promise<SshKey> {
  if (opts.sshKey) return readSshPublicKey(opts.sshKey);
  for (const pub of await findUserSshKeys(opts.home)) {
    try {
      return await readSshPublicKey(pub);
    } catch {
      // An unreadable or odd file: try the next.
    }
  }
  const dir = ensurePrivateDir(join(paths.data, 'ssh'));
  const priv = join(dir, 'id_ed25519');
  if (await exists(`${priv}.pub`)) return readSshPublicKey(`${priv}.pub`);
  try {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'roost', '-f', priv], {
      timeout: 30_000,
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    throw new RoostError(
      'SSH_KEYGEN_FAILED',
      `cannot generate an SSH key: ${err.code === 'ENOENT' ? 'ssh-keygen is not installed' : (err.stderr ?? err.message).trim()}`,
      {
        hint:
          err.code === 'ENOENT'
            ? 'sudo apt-get install openssh-client'
            : 'or pass one: --ssh-key ~/.ssh/id_ed25519.pub',
        cause: e,
      },
    );
  }
  return { ...(await readSshPublicKey(`${priv}.pub`)), generated: true };
}
