// user-data: the #cloud-config that makes a fresh cloud image usable — a login user with the user's SSH key and
// passwordless sudo, the hostname — optionally merged with the user's own cloud-config (`--cloud-init FILE`).
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { UsageError } from '../errors.js';

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
      },
    ],
    ssh_pwauth: false,
  };
}

/** The user-data document: "#cloud-config" and the merged configuration. */
export function buildUserData(o: UserDataOptions): string {
  const config = o.extra ? mergeCloudConfig(baseCloudConfig(o), o.extra) : baseCloudConfig(o);
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}

const isMapping = (v: unknown): v is CloudConfig => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep merge of cloud-configs: mappings merge key by key, lists concatenate (ours first, so the user's
 * `users:` or `runcmd:` add to what roost sets up), and any other value from `extra` replaces ours.
 */
export function mergeCloudConfig(base: CloudConfig, extra: CloudConfig): CloudConfig {
  const out: CloudConfig = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    if (Array.isArray(b) && Array.isArray(v)) out[k] = [...(b as unknown[]), ...(v as unknown[])];
    else if (isMapping(b) && isMapping(v)) out[k] = mergeCloudConfig(b, v);
    else out[k] = v;
  }
  return out;
}

/** Parses a `--cloud-init FILE`: it must be a YAML mapping (a #cloud-config); errors name the line. */
export function parseCloudConfig(text: string, source: string): CloudConfig {
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
  if (value === null || value === undefined) return {};
  if (!isMapping(value)) {
    throw new UsageError(
      'CLOUD_INIT_INVALID',
      `${source}: a cloud-config must be a YAML mapping (key: value lines)`,
    );
  }
  return value;
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
  return parseCloudConfig(text, path);
}
