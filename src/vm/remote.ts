// A VM on another host (a qemu+ssh:// connection): where its files go there, and how they get there.
//
// A remote daemon opens every path in a domain or volume XML on its own host, as the remote user, so nothing of
// this host's may be named in one. roost asks the remote side once per connection for its user's directories
// (dialers/ssh-exec.ts: one ssh call, a constant script) and keeps everything else inside roost's storage pool
// there, where libvirt itself reads, writes and deletes it:
//   - the disk, and the image it was made from (uploaded as NAME.base: a volume upload stream, no scp);
//   - a direct-boot kernel and initrd (NAME.kernel, NAME.initrd), an installer ISO (NAME.install.iso) and the
//     cloud-init seed (NAME.seed.iso);
//   - the serial log (NAME.serial.log), so that `roost logs` reads it back as a volume download.
// Only the VNC socket is elsewhere (QEMU makes it; a socket is no volume): in the remote user's runtime dir.
import { createReadStream, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import type { LibvirtClient } from '../libvirt/api.js';
import type { RemoteDirs, RemoteProbe } from '../libvirt/dialers/ssh-exec.js';
import { LibvirtError, VirErrorCode } from '../libvirt/errors.js';
import { parseUri } from '../libvirt/uri.js';
import { STREAM_CHUNK_MAX } from '../libvirt/rpc/stream.js';
import type { StoragePool } from '../libvirt/types.js';
import type { PullProgress } from '../images/types.js';
import type { ParsedDomain } from '../domain-xml/parse.js';
import { UsageError } from '../errors.js';
import { parseHostListeners, type RemoteListeners } from '../net/port-check.js';
import { isRemote, type VmContext } from './context.js';
import { ensurePool, poolVolumesAmong, volumeXml } from './storage.js';
import type { Rollback } from './rollback.js';

export { isRemote } from './context.js';

const asked = new WeakMap<LibvirtClient, Promise<RemoteDirs>>();

/** One ssh call to the remote host: its listeners now, and its user's directories, kept for the connection. */
function probe(ctx: Pick<VmContext, 'uri' | 'client' | 'env'>): Promise<RemoteProbe> {
  // The ssh module loads only here: local commands never pay for it.
  const probed = import('../libvirt/dialers/ssh-exec.js').then(({ probeRemote }) =>
    probeRemote(parseUri(ctx.uri), { env: ctx.env, timeoutMs: 20_000 }),
  );
  const dirs = probed.then((p) => p.dirs);
  asked.set(ctx.client, dirs);
  dirs.catch(() => {
    if (asked.get(ctx.client) === dirs) asked.delete(ctx.client);
  });
  return probed;
}

/** The remote user's directories, asked once per connection (and roost's made there, 0700). */
export function remoteDirsOf(ctx: Pick<VmContext, 'uri' | 'client' | 'env'>): Promise<RemoteDirs> {
  return asked.get(ctx.client) ?? probe(ctx).then((p) => p.dirs);
}

/**
 * The remote host's listening sockets now, for checkForwards (net/port-check.ts): a forward whose port is taken
 * there is refused before anything is made. Asked afresh each time, in the same ssh call as the directories (a
 * create asks it first, and its directories come with it).
 */
export async function remotePortsOf(
  ctx: Pick<VmContext, 'uri' | 'client' | 'env'>,
): Promise<RemoteListeners> {
  const { listeners } = await probe(ctx);
  return {
    where: `the remote host ${jumpHostOf(ctx)}`,
    findHint: (proto, port) =>
      `ssh ${sshLoginOf(ctx)} ss -lnp${proto === 'udp' ? 'u' : 't'} 'sport = :${port}'`,
    listeners: [...parseHostListeners(listeners.tcp, 'tcp'), ...parseHostListeners(listeners.udp, 'udp')],
  };
}

/** Where a VM's files go on the daemon's host: roost's pool (made there on first use) and the sockets dir. */
export interface RemotePlace {
  pool: StoragePool;
  /** The pool's directory on the remote host. */
  dir: string;
  sockets: string;
}

export async function remotePlace(ctx: VmContext): Promise<RemotePlace> {
  const dirs = await remoteDirsOf(ctx);
  const { pool, dir } = await ensurePool(ctx.client, { pool: join(dirs.data, 'pool') }, { makeDir: false });
  return { pool, dir, sockets: dirs.sockets };
}

/** What the progress bar is told about an upload: the same events as a download's. */
function counting(image: string, total: number, onProgress: PullProgress | undefined): Transform {
  let sent = 0;
  let last = 0;
  const started = Date.now();
  // 'upload:' tells the bar (term/progress.ts) that the bytes go the other way.
  onProgress?.({ type: 'start', image, url: `upload:${image}`, total, resumeFrom: 0 });
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      const now = Date.now();
      if (onProgress && (now - last > 200 || sent === total)) {
        last = now;
        const rate = sent / Math.max(0.001, (now - started) / 1000);
        onProgress({ type: 'progress', image, received: sent, total, rate, eta: (total - sent) / rate });
      }
      done(null, chunk);
    },
  });
}

/**
 * Copies the local file `from` into a new volume `name` of the remote pool through libvirt's upload stream;
 * the volume's path there. Its undo (deleting the volume) is registered before it is made.
 */
export async function uploadToPool(
  ctx: VmContext,
  place: RemotePlace,
  from: string,
  name: string,
  opts: { rollback: Rollback; vm: string; onProgress?: PullProgress },
): Promise<string> {
  const { client } = ctx;
  const size = statSync(from).size;
  const path = join(place.dir, name);
  let made = false;
  opts.rollback.add({
    what: `volume ${path} on the remote host`,
    fix: `roost rm --force ${opts.vm}`,
    run: async () => {
      if (!made) return false;
      const vol = await client.lookupVolume(place.pool, name);
      await client.deleteVolume(vol);
    },
  });
  // Declared raw with the file's own size: the bytes are the file's, whatever format it has inside.
  const xml = volumeXml({ name, capacityBytes: size }).replace(
    "<format type='qcow2'/>",
    "<format type='raw'/>",
  );
  const vol = await client.createVolume(place.pool, xml).catch((e: unknown) => {
    if (e instanceof LibvirtError && e.virErrorCode === VirErrorCode.STORAGE_VOL_EXIST) {
      throw new UsageError('NAME_TAKEN', `volume ${name} is already in roost's pool on the remote host`, {
        hint: `pick another VM name, or remove what is left of VM '${opts.vm}': roost rm ${opts.vm}`,
        cause: e,
      });
    }
    throw e;
  });
  made = true;
  // Reads of whole RPC data messages (the stream cuts at STREAM_CHUNK_MAX): fs's default 64 KiB reads would each
  // go out as a message of their own, four times the messages (and ssh and daemon wake-ups) for the same bytes.
  const file = createReadStream(from, { highWaterMark: 4 * STREAM_CHUNK_MAX });
  const source = counting(`${basename(from)} → ${name}`, size, opts.onProgress);
  file.once('error', (e) => source.destroy(e)); // a read failure fails the upload, not hangs it
  file.pipe(source);
  await client.uploadVolume(vol, source, { length: BigInt(size) });
  opts.onProgress?.({ type: 'done', image: name, path, size, downloaded: false });
  return client.getVolumePath(vol);
}

/**
 * The files roost put in the remote pool for VM `name` that `roost rm` deletes with it (as volumes, through
 * libvirt): its kernel, initrd, seed, serial log and uploaded base image — only those of the pool, by their
 * names, never a path the domain merely mentions.
 */
export async function remoteFilesOf(
  client: LibvirtClient,
  parsed: ParsedDomain,
  name: string,
  ownDisks: string[],
): Promise<string[]> {
  const named = (p: string | undefined, suffix: string) =>
    p !== undefined && basename(p) === `${name}${suffix}` ? [p] : [];
  const boot = parsed.boot.kind === 'kernel' ? parsed.boot : undefined;
  const candidates = [
    ...named(boot?.kernel, '.kernel'),
    ...named(boot?.initrd, '.initrd'),
    ...named(parsed.serialLog, '.serial.log'),
    ...parsed.disks.flatMap((d) => [...named(d.path, '.seed.iso'), ...named(d.path, '.install.iso')]),
    ...ownDisks.map((d) => join(dirname(d), `${name}.base`)),
  ];
  return poolVolumesAmong(client, [...new Set(candidates)]);
}

/** Where the remote host is for ssh -J: [USER@]HOST[:PORT] of the URI. */
export function jumpHostOf(ctx: Pick<VmContext, 'uri'>): string {
  const u = parseUri(ctx.uri);
  return `${u.user ? `${u.user}@` : ''}${u.host ?? 'localhost'}${u.port ? `:${u.port}` : ''}`;
}

/** The remote host as an ssh command line names it: [-p PORT ][USER@]HOST (for the hints). */
export function sshLoginOf(ctx: Pick<VmContext, 'uri'>): string {
  const u = parseUri(ctx.uri);
  return `${u.port ? `-p ${u.port} ` : ''}${u.user ? `${u.user}@` : ''}${u.host ?? 'localhost'}`;
}

/**
 * --auto-ports on a VM of another host: refused before anything is made. Its watcher runs here and forwards each
 * port the guest listens on to this host's 127.0.0.1 through the guest's ssh forward, which listens on the
 * remote host; nothing would carry it there.
 */
export function refuseRemoteAutoPorts(ctx: Pick<VmContext, 'uri'>, name: string): void {
  if (!isRemote(ctx)) return;
  throw new UsageError(
    'REMOTE_AUTO_PORTS',
    `--auto-ports does not work for a VM on another host (${jumpHostOf(ctx)}): its watcher runs on this host`,
    {
      hint: `forward the ports you need instead (roost port add ${name} HOST:GUEST), and reach one from here with: ssh -N -L PORT:127.0.0.1:PORT ${sshLoginOf(ctx)}`,
    },
  );
}

/** Removes a remote VM's VNC socket over ssh; a failure leaves a dead socket file, which is not worth an error. */
export async function removeRemoteSocket(ctx: Pick<VmContext, 'uri' | 'env'>, name: string): Promise<void> {
  const { removeRemoteVncSocket } = await import('../libvirt/dialers/ssh-exec.js');
  await removeRemoteVncSocket(parseUri(ctx.uri), name, { env: ctx.env, timeoutMs: 20_000 }).catch(
    () => undefined,
  );
}
