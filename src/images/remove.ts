// `roost image rm`: a cached image, its metadata and any partial download — refused while a VM disk in roost's
// pool is an overlay of it, unless forced.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { UsageError } from '../errors.js';
import { cachePath, listCached, readCached, removeCached } from './cache.js';
import { findEntry } from './catalog.js';
import { catalogueOf, type StoreContext } from './context.js';
import { ImageNotFoundError } from './errors.js';
import { checkImageName } from './names.js';
import { probeImage } from './probe.js';

export async function removeImage(
  ctx: StoreContext,
  ref: string,
  o: { force?: boolean } = {},
): Promise<{ name: string; removed: string[] }> {
  checkImageName(ref);
  const name = findEntry(await catalogueOf(ctx), ref)?.name ?? ref;
  const cached = await readCached(ctx.dir, name);
  if (!cached && !(await stat(cachePath(ctx.dir, name, 'part')).catch(() => undefined))) {
    throw new ImageNotFoundError(
      ref,
      (await listCached(ctx.dir)).map((c) => c.name),
    );
  }
  if (cached && !o.force) {
    const users = await overlaysOf(ctx.paths.pool, cached.path);
    if (users.length) {
      throw new UsageError(
        'IMAGE_IN_USE',
        `'${name}' is the base of ${users.length} disk(s): ${users.join(', ')}`,
        {
          hint: `remove those VMs first (roost rm NAME), or remove anyway with --force (their disks break)`,
        },
      );
    }
  }
  return { name, removed: await removeCached(ctx.dir, name) };
}

/** qcow2 files in roost's pool whose backing file is `image`. */
async function overlaysOf(pool: string, image: string): Promise<string[]> {
  const files = (await readdir(pool).catch(() => [] as string[])).filter((f) => f.endsWith('.qcow2'));
  const users: string[] = [];
  for (const f of files) {
    const facts = await probeImage(join(pool, f)).catch(() => undefined);
    if (facts?.backingFile && resolvePath(pool, facts.backingFile) === image) users.push(f);
  }
  return users;
}
