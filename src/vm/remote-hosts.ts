// The user's host list, ~/.config/roost/hosts.yaml: short names for libvirt URIs, so that `-H lab` stands for
// `--connect qemu+ssh://alice@lab.example/session`. Written by `roost hosts add|rm` (0600 in a 0700 dir,
// replaced atomically), read by -H and `roost ls --all-hosts`. Only names and URIs: keys and host keys stay
// ssh's (~/.ssh), which roost never writes for a host.
//
//   hosts:
//     lab: qemu+ssh://alice@lab.example/session
//     nas: qemu+ssh://alice@nas:2222/session?keyfile=/home/alice/.ssh/nas
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { UsageError } from '../errors.js';
import { parseUri, UriError } from '../libvirt/uri.js';
import { ensurePrivateDir, type RoostPaths } from '../paths.js';
import type { HostEntry } from '../shared/hosts.js';

/** `roost ls --all-hosts` calls this host's default connection so; no entry may take the name. */
export const LOCAL_HOST = 'local';

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i;

export function hostsFile(paths: Pick<RoostPaths, 'config'>): string {
  return join(paths.config, 'hosts.yaml');
}

/** A host name roost accepts: letters, digits, '-' and '_', up to 32, not 'local'. */
export function checkHostName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError('HOST_NAME_INVALID', `'${name}' is not a valid host name for roost's host list`, {
      hint: "use letters, digits, '-' and '_' (up to 32, starting with a letter or digit), e.g. lab or nas-2",
    });
  }
  if (name.toLowerCase() === LOCAL_HOST) {
    throw new UsageError('HOST_NAME_INVALID', `'${LOCAL_HOST}' is the name of this host's own connection`, {
      hint: 'pick another name',
    });
  }
  return name;
}

/** The URI checked as libvirt's client would read it; a usage error saying what is wrong otherwise. */
export function checkHostUri(uri: string): string {
  try {
    parseUri(uri);
  } catch (e) {
    if (e instanceof UriError) throw new UsageError('URI_INVALID', e.message, { cause: e });
    throw e;
  }
  return uri;
}

/** Parses hosts.yaml's text; a file that is not a map of NAME: URI is an error naming the file and the line. */
export function parseHosts(text: string, file = 'hosts.yaml'): HostEntry[] {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw badFile(file, doc.errors[0]!.message);
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return [];
  const hosts = (data as { hosts?: unknown }).hosts;
  if (typeof data !== 'object' || Array.isArray(data))
    throw badFile(file, "expected a map with a 'hosts' key");
  if (hosts === undefined || hosts === null) return [];
  if (typeof hosts !== 'object' || Array.isArray(hosts))
    throw badFile(file, "'hosts' must be a map of NAME: URI");
  return Object.entries(hosts as Record<string, unknown>).map(([name, uri]) => {
    if (typeof uri !== 'string') throw badFile(file, `host '${name}' must map to a URI string`);
    try {
      return { name: checkHostName(name), uri: checkHostUri(uri) };
    } catch (e) {
      throw badFile(file, (e as Error).message);
    }
  });
}

function badFile(file: string, why: string): UsageError {
  return new UsageError('HOSTS_FILE_INVALID', `${file} is not a valid host list: ${why}`, {
    hint: `fix it by hand, or remove it and add the hosts again: roost hosts add NAME URI`,
  });
}

export function readHosts(paths: Pick<RoostPaths, 'config'>): HostEntry[] {
  const file = hostsFile(paths);
  if (!existsSync(file)) return [];
  return parseHosts(readFileSync(file, 'utf8'), file);
}

export function formatHosts(hosts: readonly HostEntry[]): string {
  const map = Object.fromEntries(hosts.map((h) => [h.name, h.uri]));
  return '# roost host list: roost hosts add NAME URI | roost hosts rm NAME\n' + stringify({ hosts: map });
}

/** Writes the list: private (0600 in a 0700 directory), through a rename, so a reader never sees half of it. */
export function writeHosts(paths: Pick<RoostPaths, 'config'>, hosts: readonly HostEntry[]): void {
  const file = hostsFile(paths);
  ensurePrivateDir(paths.config);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, formatHosts(hosts), { mode: 0o600 });
  renameSync(tmp, file);
}

export function addHost(paths: Pick<RoostPaths, 'config'>, name: string, uri: string): HostEntry {
  const entry = { name: checkHostName(name), uri: checkHostUri(uri) };
  const hosts = readHosts(paths);
  if (hosts.some((h) => h.name === name)) {
    throw new UsageError('HOST_EXISTS', `host '${name}' is already in the list`, {
      hint: `remove it first (roost hosts rm ${name}), or pick another name`,
    });
  }
  writeHosts(paths, [...hosts, entry]);
  return entry;
}

export function removeHost(paths: Pick<RoostPaths, 'config'>, name: string): HostEntry {
  const hosts = readHosts(paths);
  const found = hosts.find((h) => h.name === name);
  if (!found) throw unknownHost(name, hosts);
  writeHosts(
    paths,
    hosts.filter((h) => h !== found),
  );
  return found;
}

/** -H NAME: the host's URI; an unknown name is a usage error listing the known ones. */
export function resolveHost(paths: Pick<RoostPaths, 'config'>, name: string): string {
  const hosts = readHosts(paths);
  const found = hosts.find((h) => h.name === name);
  if (!found) throw unknownHost(name, hosts);
  return found.uri;
}

function unknownHost(name: string, hosts: readonly HostEntry[]): UsageError {
  const known = hosts.map((h) => h.name);
  return new UsageError('HOST_UNKNOWN', `no host named '${name}' in roost's host list`, {
    hint:
      known.length > 0
        ? `known hosts: ${known.join(', ')}; add one: roost hosts add NAME URI`
        : 'the list is empty: roost hosts add NAME qemu+ssh://USER@HOST/session',
  });
}
