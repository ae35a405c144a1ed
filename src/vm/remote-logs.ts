// roost logs for a VM on another host: its serial log is a file in roost's pool there (remote.ts), read back
// through libvirt as a volume download over the same connection — no second ssh, no scp.
import { RoostError, UsageError } from '../errors.js';
import { isNotFound } from '../libvirt/errors.js';
import type { StorageVol } from '../libvirt/types.js';
import type { VmContext } from './context.js';
import { POOL_NAME } from './storage.js';

/** The log's volume (the pool refreshed first: QEMU made the file, libvirt learns of it by looking). */
async function logVolume(ctx: VmContext, path: string): Promise<StorageVol | undefined> {
  const { client } = ctx;
  const pool = await client.lookupStoragePool(POOL_NAME).catch(() => undefined);
  if (pool) await client.refreshStoragePool(pool);
  return client.lookupVolumeByPath(path).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
}

/**
 * The log's bytes from `offset` on (from 0 when the log is shorter: the VM restarted and it began again) and
 * where they start; undefined when there is no log.
 */
async function readFrom(
  ctx: VmContext,
  path: string,
  offset: number,
): Promise<{ data: Buffer; start: number } | undefined> {
  const vol = await logVolume(ctx, path);
  if (!vol) return undefined;
  const { capacity } = await ctx.client.getVolumeInfo(vol);
  const start = BigInt(offset) > capacity ? 0 : offset;
  if (BigInt(start) === capacity) return { data: Buffer.alloc(0), start };
  const chunks: Buffer[] = [];
  const stream = await ctx.client.downloadVolume(vol, { offset: BigInt(start) });
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { data: Buffer.concat(chunks), start };
}

function noLogYet(path: string): RoostError {
  return new RoostError(
    'NO_LOG_YET',
    `no log at ${path} on the remote host yet (the VM has not been started?)`,
  );
}

/** The whole remote serial log as text. */
export async function readRemoteLog(ctx: VmContext, path: string): Promise<string> {
  const read = await readFrom(ctx, path, 0);
  if (read === undefined) throw noLogYet(path);
  return read.data.toString('utf8');
}

/** Copies the remote log to `out`; with `follow`, polls for what is appended until `signal` aborts. */
export async function streamRemoteLog(
  ctx: VmContext,
  path: string,
  out: { write(chunk: Buffer): unknown },
  follow: boolean,
  signal?: AbortSignal,
): Promise<void> {
  let offset = 0;
  const copy = async () => {
    const read = await readFrom(ctx, path, offset);
    if (read === undefined) return false;
    if (read.data.length > 0) out.write(read.data);
    offset = read.start + read.data.length;
    return true;
  };
  if (!(await copy()) && !follow) throw noLogYet(path);
  while (follow && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, 1000));
    if (!signal?.aborted) await copy();
  }
}

/** QEMU's own log stays in the remote user's libvirt cache, which libvirt offers no way to read. */
export function remoteQemuLogRefused(name: string): UsageError {
  return new UsageError(
    'REMOTE_QEMU_LOG',
    `QEMU's log of VM '${name}' is on the remote host, out of roost's reach`,
    {
      hint: `read it there: ssh HOST cat ~/.cache/libvirt/qemu/log/${name}.log; the serial log works: roost logs ${name}`,
    },
  );
}
