// What every use case works with: one libvirt connection and the user's roost paths. The CLI and the web
// server each make one per request/command and close it when done.
import { connect, type ConnectOptions } from '../libvirt/connect.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { roostPaths, type RoostPaths } from '../paths.js';
import { defaultUri, parseUri } from '../libvirt/uri.js';

export interface VmContext {
  client: LibvirtClient;
  /** The URI as the user gave it (or the default). */
  uri: string;
  paths: RoostPaths;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export interface OpenContextOptions extends ConnectOptions {
  uri?: string;
}

export async function openContext(opts: OpenContextOptions = {}): Promise<VmContext> {
  const env = opts.env ?? process.env;
  const uri = opts.uri ?? defaultUri(env);
  const client = await connect(uri, { ...opts, env });
  return { client, uri, paths: roostPaths(env), env, close: () => client.close() };
}

/**
 * True when the connection's daemon is on another host (ssh): its paths are not this host's. Here, not in
 * remote.ts, so that asking costs a local command nothing: the remote machinery (uploads, ssh) loads only for a
 * remote daemon.
 */
export function isRemote(ctx: Pick<VmContext, 'uri'>): boolean {
  try {
    return parseUri(ctx.uri).transport === 'ssh';
  } catch {
    return false;
  }
}
