// The live values behind Tab: VM and snapshot names from the libvirt daemon, image refs from the catalogue,
// host names from ~/.config/roost/hosts.yaml. Each is a best effort with nothing printed: a failure is an empty
// list, since anything written would land in the user's shell line.
//
// Tab must never start a daemon (a session daemon started by a keystroke would run on for minutes, and the
// start itself costs far more than a Tab may take): the connection is dialled without autostart, only on a
// local socket (an ssh URI could ask for a password or take seconds), and given up after a short deadline.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { roostPaths } from '../paths.js';
import type { LiveValues } from './complete.js';

/** How long Tab waits for the daemon before it offers no names. */
const DAEMON_DEADLINE_MS = 1000;

/** hosts.yaml's names: the same rule as a VM's first character, no spaces or separators. */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The connection the completed line itself names: `-c URI`, `--connect URI`, `--connect=URI`, `-H NAME`. */
export interface LineConnection {
  uri?: string;
  host?: string;
}

export function connectionOnLine(words: readonly string[]): LineConnection {
  const found: LineConnection = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') break;
    if ((w === '-c' || w === '--connect') && i + 1 < words.length) found.uri = words[++i];
    else if (w.startsWith('--connect=')) found.uri = w.slice('--connect='.length);
    else if ((w === '-H' || w === '--host') && i + 1 < words.length) found.host = words[++i];
    else if (w.startsWith('--host=')) found.host = w.slice('--host='.length);
  }
  return found;
}

export function liveValues(words: readonly string[], env: NodeJS.ProcessEnv = process.env): LiveValues {
  const paths = roostPaths(env);
  const onLine = connectionOnLine(words);
  let client: Promise<import('../libvirt/api.js').LibvirtClient | undefined> | undefined;
  const daemon = () => (client ??= openQuietly(onLine, paths.config, env));
  return {
    vms: () => quietly(async () => ((await (await daemon())?.listDomains()) ?? []).map((d) => d.name)),
    snapshots: (vm) =>
      quietly(async () => {
        const c = await daemon();
        if (!c) return [];
        return (await c.listSnapshots(await c.lookupDomain(vm))).map((s) => s.name);
      }),
    images: () => imageRefs(paths).catch(() => []),
    hosts: () => quietly(async () => [...(await readHosts(paths.config)).keys()]),
  };
}

async function quietly(f: () => Promise<string[]>): Promise<string[]> {
  try {
    return await withDeadline(f());
  } catch {
    return [];
  }
}

function withDeadline<T>(p: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('completion deadline')), DAEMON_DEADLINE_MS);
    t.unref();
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}

/** A connection to a daemon already running on a local socket, or undefined: never a daemon started, never ssh. */
async function openQuietly(
  onLine: LineConnection,
  configDir: string,
  env: NodeJS.ProcessEnv,
): Promise<import('../libvirt/api.js').LibvirtClient | undefined> {
  const [{ connect }, { defaultUri, parseUri }] = await Promise.all([
    import('../libvirt/connect.js'),
    import('../libvirt/uri.js'),
  ]);
  const uri =
    onLine.uri ??
    (onLine.host ? (await readHosts(configDir)).get(onLine.host) : undefined) ??
    defaultUri(env);
  if (uri === undefined || parseUri(uri).transport !== 'unix') return undefined;
  return connect(uri, {
    env,
    readOnly: false,
    autostart: false,
    timeoutMs: DAEMON_DEADLINE_MS,
    callTimeoutMs: DAEMON_DEADLINE_MS,
  });
}

/** Every name and alias the image catalogue knows (built in, images.yaml, imported). */
async function imageRefs(paths: ReturnType<typeof roostPaths>): Promise<string[]> {
  try {
    const { imageStore } = await import('../images/store.js');
    const rows = await withDeadline(imageStore(paths).list());
    return rows.flatMap((r) => [r.name, ...(r.aliases ?? [])]);
  } catch {
    // A broken images.yaml, or a cache too slow to read now: the built-in names still complete.
    const { BUILTIN_IMAGES } = await import('../images/catalog.js');
    return BUILTIN_IMAGES.flatMap((e) => [e.name, ...(e.aliases ?? [])]);
  }
}

/**
 * The hosts in ~/.config/roost/hosts.yaml, name → URI, read defensively: the file is another command's (roost
 * hosts), so any shape it has — `hosts:` as a map of name to URI or of name to {uri}, a list of {name, uri}, or
 * those at the top — is read, and anything else (missing, malformed, odd names) gives no hosts.
 */
export async function readHosts(configDir: string): Promise<Map<string, string | undefined>> {
  const found = new Map<string, string | undefined>();
  let text: string;
  try {
    text = await readFile(join(configDir, 'hosts.yaml'), 'utf8');
  } catch {
    return found;
  }
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return found;
  }
  const root = isRecord(doc) && 'hosts' in doc ? doc.hosts : doc;
  if (Array.isArray(root)) {
    for (const e of root) if (isRecord(e)) addHost(found, e.name, e.uri);
  } else if (isRecord(root)) {
    for (const [name, v] of Object.entries(root)) addHost(found, name, isRecord(v) ? v.uri : v);
  }
  return found;
}

function addHost(found: Map<string, string | undefined>, name: unknown, uri: unknown): void {
  if (typeof name === 'string' && HOST_NAME.test(name))
    found.set(name, typeof uri === 'string' ? uri : undefined);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
