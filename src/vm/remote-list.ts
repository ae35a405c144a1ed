// roost ls --all-hosts: this host's default connection and every host of hosts.yaml asked at once, each within a
// timeout. A host that is down, refuses us or is slow is one row saying why — never the end of the listing.
import { describeError } from '../describe-error.js';
import { defaultUri } from '../libvirt/uri.js';
import type { HostEntry, HostVms } from '../shared/hosts.js';
import type { VmSummary } from '../shared/vms.js';
import { RoostError } from '../errors.js';
import { openContext } from './context.js';
import { listVms } from './list.js';
import { LOCAL_HOST } from './remote-hosts.js';

export const ALL_HOSTS_TIMEOUT_MS = 15_000;

/** One host's row of `roost ls --all-hosts --json`: its VMs, or the error that stood for them. */
export function hostVms(
  host: string,
  uri: string,
  answer: { vms: VmSummary[] } | { error: unknown },
): HostVms {
  if ('vms' in answer) return { host, uri, vms: answer.vms, error: null };
  const e = describeError(answer.error);
  return {
    host,
    uri,
    vms: null,
    error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
  };
}

export class HostTimeoutError extends RoostError {
  constructor(host: string, ms: number) {
    super('HOST_TIMEOUT', `host '${host}' gave no answer within ${Math.round(ms / 1000)} s`, {
      hint: `check that it is up and reachable (roost doctor -H ${host}); or wait longer: --timeout SECONDS`,
    });
  }
}

/** The VMs of one host, or why not, within `timeoutMs`; the connection is closed either way (late ones too). */
async function askHost(
  host: string,
  uri: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<HostVms> {
  const opened = openContext({ uri, env, timeoutMs, callTimeoutMs: timeoutMs });
  const listing = opened.then(async (ctx) => ({ vms: await listVms(ctx) }));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HostTimeoutError(host, timeoutMs)), timeoutMs);
  });
  try {
    return hostVms(host, uri, await Promise.race([listing, late]));
  } catch (error) {
    return hostVms(host, uri, { error });
  } finally {
    clearTimeout(timer);
    void opened.then((ctx) => ctx.close()).catch(() => undefined);
  }
}

/** Every host at once: this one first ('local'), then the list's in its order. */
export function listAllHosts(
  hosts: readonly HostEntry[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<HostVms[]> {
  return listHosts([{ name: LOCAL_HOST, uri: defaultUri(opts.env ?? process.env) }, ...hosts], opts);
}

/** These hosts at once, in their order, each on a connection of its own (`roost web` has its own for 'local'). */
export function listHosts(
  hosts: readonly HostEntry[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<HostVms[]> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? ALL_HOSTS_TIMEOUT_MS;
  return Promise.all(hosts.map((h) => askHost(h.name, h.uri, timeoutMs, env)));
}
