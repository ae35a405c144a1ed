// user-data: the #cloud-config that makes a fresh cloud image usable — a login user with the user's SSH key and
// passwordless sudo, the hostname — optionally merged with the user's own cloud-config (`--cloud-init FILE`).
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { UsageError } from '../errors.js';
import { mountsCloudConfig, type SeedMount } from './mounts.js';

export type CloudConfig = Record<string, unknown>;

export interface UserDataOptions {
  /** Login name to create (e.g. the image's usual user: debian, ubuntu, fedora). */
  user: string;
  /** Public keys in authorized_keys format ("ssh-ed25519 AAAA… comment"). */
  sshPublicKeys: string[];
  hostname: string;
  /** Login shell (default /bin/bash; Alpine has only /bin/sh). */
  shell?: string;
  /** The user's own cloud-config, merged over ours (see mergeCloudConfig). */
  extra?: CloudConfig;
  /** Shared folders to mount at every boot (mounts.ts). */
  mounts?: SeedMount[];
  /**
   * The login user's uid: the host user's, so that files in shared folders belong to the same user on both
   * sides. Absent: the image's default (the next free uid, 1000 on a fresh image).
   */
  uid?: number;
}

export function baseCloudConfig(o: UserDataOptions): CloudConfig {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user)) {
    throw new UsageError('INVALID_USER', `'${o.user}' is not a valid login name`, {
      hint: 'lowercase letters, digits, _ and -, starting with a letter or _',
    });
  }
  const keys = o.sshPublicKeys.map((k) => k.trim()).filter(Boolean);
  for (const k of keys) {
    if (/[\r\n]/.test(k) || !/^(ssh-|ecdsa-|sk-)\S+ \S+/.test(k)) {
      throw new UsageError('INVALID_SSH_KEY', `not an SSH public key: '${k.slice(0, 40)}…'`);
    }
  }
  return {
    hostname: o.hostname,
    // Keep the VM's name in /etc/hosts so `sudo` does not stall on resolving it.
    manage_etc_hosts: true,
    users: [
      {
        name: o.user,
        gecos: 'roost',
        shell: o.shell ?? '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: keys,
        ...(o.uid !== undefined ? { uid: o.uid } : {}),
      },
    ],
    ssh_pwauth: false,
  };
}

/** The user-data document: "#cloud-config" and the merged configuration. */
export function buildUserData(o: UserDataOptions): string {
  const base = mergeCloudConfig(baseCloudConfig(o), mountsCloudConfig(o.mounts ?? []));
  const config = o.extra ? mergeCloudConfig(base, o.extra) : base;
  if (!hasUser(config, o.user)) {
    throw new UsageError(
      'CLOUD_INIT_INVALID',
      `the cloud-config would not create the login user '${o.user}'`,
      {
        hint: 'keep users: a list; roost adds its user to it',
      },
    );
  }
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}

function hasUser(config: CloudConfig, user: string): boolean {
  const users = config.users;
  return Array.isArray(users) && users.some((u) => isMapping(u) && u.name === user);
}

const isMapping = (v: unknown): v is CloudConfig => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep merge of cloud-configs: mappings merge key by key, lists concatenate (ours first, so the user's
 * `users:` or `runcmd:` add to what roost sets up), and any other value from `extra` replaces ours. A list or
 * mapping of ours is never replaced by a value of another kind (`users: 7` would drop roost's login user): that
 * is refused.
 */
export function mergeCloudConfig(base: CloudConfig, extra: CloudConfig, at = ''): CloudConfig {
  const out: CloudConfig = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    if (Array.isArray(b) && Array.isArray(v)) out[k] = [...(b as unknown[]), ...(v as unknown[])];
    else if (isMapping(b) && isMapping(v)) out[k] = mergeCloudConfig(b, v, `${at}${k}.`);
    else if (Array.isArray(b) || isMapping(b)) {
      throw new UsageError(
        'CLOUD_INIT_INVALID',
        `cloud-config key '${at}${k}' must be ${Array.isArray(b) ? 'a list' : 'a mapping'}: roost merges its own into it`,
      );
    } else out[k] = v;
  }
  return out;
}

interface ParsedCloudConfig {
  config: CloudConfig;
  /** The line of the node at a path of keys and list indexes, or of its nearest parent in the file. */
  locate: (path: readonly PropertyKey[]) => number | undefined;
}

function parseDocumentOf(text: string, source: string): ParsedCloudConfig {
  const first = text.split('\n', 1)[0] ?? '';
  if (first.startsWith('#!') || first.startsWith('#include') || first.startsWith('Content-Type:')) {
    throw new UsageError(
      'CLOUD_INIT_INVALID',
      `${source}: only #cloud-config YAML can be merged (this is '${first.trim()}')`,
      {
        hint: 'run scripts from the cloud-config instead: runcmd: [[sh, -c, "…"]]',
      },
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const { line, col } = lineCounter.linePos(e.pos[0]);
    throw new UsageError('CLOUD_INIT_INVALID', `${source}:${line}:${col}: ${e.message.split('\n')[0]}`);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    // yaml refuses a document whose aliases expand without bound (a "billion laughs" bomb) here.
    throw new UsageError('CLOUD_INIT_INVALID', `${source}: ${(e as Error).message}`, { cause: e });
  }
  const locate = (path: readonly PropertyKey[]) => {
    for (let n = path.length; n > 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true) as
        { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  if (value === null || value === undefined) return { config: {}, locate };
  if (!isMapping(value)) {
    throw new UsageError(
      'CLOUD_INIT_INVALID',
      `${source}: a cloud-config must be a YAML mapping (key: value lines)`,
    );
  }
  return { config: value, locate };
}

/** Parses a `--cloud-init FILE`: it must be a YAML mapping (a #cloud-config); errors name the line. */
export function parseCloudConfig(text: string, source: string): CloudConfig {
  return parseDocumentOf(text, source).config;
}

/**
 * parseCloudConfig, then the shape of the keys roost merges into and cloud-init acts on (schema.ts): a wrong one
 * is refused with the key and its line.
 */
export async function checkedCloudConfig(text: string, source: string): Promise<CloudConfig> {
  const { config, locate } = parseDocumentOf(text, source);
  const { checkCloudConfigShape } = await import('./schema.js');
  checkCloudConfigShape(config, source, locate);
  return config;
}

export async function readCloudConfigFile(path: string): Promise<CloudConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      'CLOUD_INIT_UNREADABLE',
      `cannot read cloud-init file '${path}': ${(e as NodeJS.ErrnoException).code}`,
      {
        cause: e,
      },
    );
  }
  return checkedCloudConfig(text, path);
}
