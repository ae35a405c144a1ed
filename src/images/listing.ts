// `roost image ls`: every catalogue entry joined with the cache, and cached images whose entry is gone.
import { listCached, type CachedImage } from './cache.js';
import { catalogueOf, type StoreContext } from './context.js';
import type { ImageEntry } from './types.js';
import type { ImageListing } from '../shared/host.js';

export type { ImageListing } from '../shared/host.js';

export async function listImages(ctx: StoreContext): Promise<ImageListing[]> {
  const [all, cached] = await Promise.all([catalogueOf(ctx), listCached(ctx.dir)]);
  const byName = new Map(cached.map((c) => [c.name, c]));
  const rows = all.map((e) => {
    const c = byName.get(e.name);
    byName.delete(e.name);
    return listingOf(e, c);
  });
  // Cached images whose entry is gone (an edited images.yaml) still show, so they can be removed.
  for (const c of byName.values()) rows.push(orphanListing(c));
  return rows;
}

function listingOf(e: ImageEntry, c: CachedImage | undefined): ImageListing {
  return {
    name: e.name,
    aliases: e.aliases ?? [],
    os: e.os,
    user: e.user,
    firmware: e.firmware,
    origin: e.origin,
    importOnly: !e.url,
    cached: !!c,
    path: c?.path,
    size: c?.size,
    virtualSize: c?.virtualSize,
    url: e.url,
    minDiskGiB: e.minDiskGiB,
    minMemoryMiB: e.minMemoryMiB,
    checksum: e.checksum
      ? 'url' in e.checksum
        ? `${e.checksum.algorithm} from ${e.checksum.url}`
        : `${e.checksum.algorithm} (digest in the entry)`
      : undefined,
    notes: e.notes,
  };
}

function orphanListing(c: CachedImage): ImageListing {
  return {
    name: c.name,
    aliases: [],
    os: '(no longer in the catalogue)',
    user: '-',
    firmware: 'uefi',
    origin: 'config',
    importOnly: false,
    cached: true,
    path: c.path,
    size: c.size,
    virtualSize: c.virtualSize,
    url: c.url,
  };
}
