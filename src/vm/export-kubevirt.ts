// roost export NAME --format kubevirt (docs/kubevirt.md): the VM as the KubeVirt builder's source — its image as
// the catalogue knows it (URL and SHA-256) or as a file to upload, its size, forwards, shared folders, bridges,
// the user-data of its seed and whether it starts at login — and a note for each thing of the VM the manifests
// cannot carry. The reading (catalogue, image cache, seed) is here; the mapping (kubevirtSourceOf) is pure.
import { parse as parseYaml, stringify } from 'yaml';
import { withoutMountsConfig } from '../cloud-init/mounts.js';
import type { ParsedDomain } from '../domain-xml/parse.js';
import { readCached } from '../images/cache.js';
import { findEntry } from '../images/catalog.js';
import { catalogueOf, storeContext } from '../images/context.js';
import type { ImageEntry } from '../images/types.js';
import {
  buildKubevirtManifests,
  kubevirtYaml,
  type KubevirtImage,
  type KubevirtMount,
  type KubevirtOptions,
  type KubevirtPort,
  type KubevirtSource,
} from '../kubevirt/index.js';
import type { CurrentVm } from './apply-state.js';
import type { VmContext } from './context.js';
import { looksLikeCatalogName } from './input.js';
import { seedPathOf, tryReadIsoFile } from './export-seed.js';
import { mountRows } from './mount-rows.js';

/** The YAML stream, and the notes (also its first comments) for the CLI to warn with. */
export interface KubevirtExport {
  text: string;
  notes: string[];
}

/** The catalogue entry of the VM's image and what the image cache verified of its download. */
export interface ImageFacts {
  entry?: Pick<ImageEntry, 'name' | 'url' | 'checksum' | 'minDiskGiB'>;
  /** The SHA-256 of the download from entry.url, as the cache verified it. */
  cachedSha256?: string;
  /** The image file in the cache (an entry without a URL: an import). */
  cachedPath?: string;
}

/** What the seed holds; an Error when it could not be read. */
export interface SeedFacts {
  path?: string;
  userData?: string | Error;
  networkConfig?: string | Error;
}

/** A disk whose size cannot be read (not a pool volume) gets this: the cluster needs a size. */
export const UNKNOWN_DISK_GIB = 10;

export async function kubevirtExport(
  ctx: VmContext,
  cur: CurrentVm,
  opts: KubevirtOptions = {},
): Promise<KubevirtExport> {
  const image = await imageFacts(ctx, cur.parsed.roost?.imageRef);
  const seedPath = seedPathOf(ctx.paths, cur.parsed);
  const seed: SeedFacts =
    seedPath === undefined
      ? {}
      : {
          path: seedPath,
          userData: tryReadIsoFile(seedPath, 'user-data'),
          networkConfig: tryReadIsoFile(seedPath, 'network-config'),
        };
  const { src, notes } = kubevirtSourceOf(cur, image, seed);
  const built = buildKubevirtManifests(src, opts);
  const all = [...notes, ...built.notes];
  return { text: kubevirtYaml({ manifests: built.manifests, notes: all }), notes: all };
}

/** The catalogue entry for a catalogue name, and the cache's record of it; {} for a file or no image. */
async function imageFacts(ctx: VmContext, ref: string | undefined): Promise<ImageFacts> {
  if (ref === undefined || !looksLikeCatalogName(ref)) return {};
  const store = storeContext(ctx.paths, ctx.env);
  const entry = findEntry(await catalogueOf(store), ref);
  if (entry === undefined) return {};
  const cached = await readCached(store.dir, entry.name);
  const sha =
    cached?.digest.algorithm === 'sha256' && cached.source === 'download' && cached.url === entry.url
      ? cached.digest.hex
      : undefined;
  return { entry, cachedSha256: sha, cachedPath: cached?.path };
}

/** The builder's source for this VM, and the notes on what it leaves out. Pure. */
export function kubevirtSourceOf(
  cur: CurrentVm,
  image: ImageFacts,
  seed: SeedFacts,
): { src: KubevirtSource; notes: string[] } {
  const p = cur.parsed;
  const notes: string[] = [];
  const src: KubevirtSource = {
    name: cur.name,
    image: imageOf(p, image, notes),
    cpus: p.cpus,
    memoryMiB: p.memoryMiB,
    diskGiB: diskGiBOf(cur.diskBytes, image, notes),
    firmware: p.firmware,
    ports: portsOf(p),
    mounts: mountsOf(p),
    bridges: p.nics.flatMap((n) => (n.type === 'bridge' && n.bridge !== undefined ? [n.bridge] : [])),
    autostart: cur.autostart,
  };
  const cloudInit = cloudInitOf(seed, notes);
  if (cloudInit !== undefined) src.cloudInit = cloudInit;
  notes.push(...deviceNotes(p));
  return { src, notes };
}

/**
 * Where the cluster gets the disk from: the catalogue's URL (pinned by its SHA-256 when the catalogue or the
 * cache's verified download gives one), else the image file (uploaded), else the VM's own disk (uploaded).
 */
function imageOf(p: ParsedDomain, facts: ImageFacts, notes: string[]): KubevirtImage {
  const ref = p.roost?.imageRef;
  const entry = facts.entry;
  if (p.boot.kind === 'kernel') {
    notes.push(
      `kernel: the VM boots the kernel ${p.boot.kernel} of this machine directly; KubeVirt boots the disk (its kernel boot takes a container image), so the cluster VM needs a disk with a bootloader`,
    );
  }
  if (entry?.url !== undefined) {
    const pinned = entry.checksum && 'value' in entry.checksum && entry.checksum.algorithm === 'sha256';
    const sha256 = pinned ? (entry.checksum as { value: string }).value : facts.cachedSha256;
    return { ref: entry.name, url: entry.url, ...(sha256 !== undefined ? { sha256 } : {}) };
  }
  if (facts.cachedPath !== undefined) return { ref, path: facts.cachedPath };
  if (ref !== undefined && !looksLikeCatalogName(ref) && !ref.endsWith('.iso')) return { path: ref };
  const own = p.disks.find((d) => d.device === 'disk' && !d.readonly)?.path;
  if (own !== undefined) {
    notes.push(
      `image: the VM's image is not known${ref !== undefined ? ` ('${ref}' is in no catalogue)` : ''}: the cluster disk is to be uploaded from the VM's own disk ${own}, as it is now`,
    );
    return { path: own };
  }
  return ref !== undefined ? { ref } : {};
}

const GIB = 1024 ** 3;

function diskGiBOf(bytes: number | undefined, facts: ImageFacts, notes: string[]): number {
  if (bytes === undefined) {
    const gib = facts.entry?.minDiskGiB ?? UNKNOWN_DISK_GIB;
    notes.push(
      `disk: its size cannot be read (the disk is no volume of a libvirt pool): the DataVolume asks ${gib}Gi`,
    );
    return gib;
  }
  const gib = Math.max(1, Math.ceil(bytes / GIB));
  if (gib * GIB !== bytes) {
    notes.push(`disk: ${sizeText(bytes)} is rounded up to ${gib}Gi (the DataVolume is sized in whole GiB)`);
  }
  return gib;
}

function sizeText(bytes: number): string {
  return bytes >= GIB
    ? `${Number((bytes / GIB).toFixed(2))} GiB`
    : `${Number((bytes / 1024 ** 2).toFixed(1))} MiB`;
}

/** Each forward of the user NICs, a range as one port each ('' as address: every address). */
function portsOf(p: ParsedDomain): KubevirtPort[] {
  const out: KubevirtPort[] = [];
  for (const n of p.nics) {
    if (n.type !== 'user') continue;
    for (const f of n.ports) {
      const last = f.hostEnd ?? f.hostStart;
      for (let port = f.hostStart; port <= last; port++) {
        out.push({
          proto: f.proto,
          hostPort: port,
          guestPort: f.guestStart + (port - f.hostStart),
          ...(f.address ? { address: f.address } : {}),
        });
      }
    }
  }
  return out;
}

function mountsOf(p: ParsedDomain): KubevirtMount[] {
  return mountRows(p).map((m) => ({
    hostDir: m.hostDirGiven ?? m.hostDir,
    guestDir: m.guestDir ?? `(tag ${m.tag})`,
    readOnly: m.mode === 'ro',
  }));
}

/**
 * The seed's user-data, byte for byte — less the mounts of shared folders, which the cluster VM has not (the
 * builder notes each folder); the network-config as the builder wants it (it leaves it out, and says why).
 */
function cloudInitOf(seed: SeedFacts, notes: string[]): KubevirtSource['cloudInit'] {
  if (seed.path === undefined) return undefined;
  const { userData, networkConfig } = seed;
  if (userData === undefined || userData instanceof Error) {
    notes.push(
      `cloud-init: the seed ${seed.path} could not be read${userData instanceof Error ? ` (${userData.message})` : ''}: the cluster VM gets no user-data`,
    );
    return undefined;
  }
  return {
    userData: withoutMounts(userData, notes),
    ...(typeof networkConfig === 'string' ? { networkConfig } : {}),
  };
}

function withoutMounts(userData: string, notes: string[]): string {
  let config: unknown;
  try {
    config = parseYaml(userData, { maxAliasCount: 100 });
  } catch {
    return userData;
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return userData;
  const rest = withoutMountsConfig(config as Record<string, unknown>);
  if (JSON.stringify(rest) === JSON.stringify(config)) return userData;
  notes.push(
    "cloud-init: the user-data's fstab lines and mount commands for the shared folders are left out (the folders are not in the cluster)",
  );
  return `#cloud-config\n${stringify(rest, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** Devices the manifests have nothing for. */
function deviceNotes(p: ParsedDomain): string[] {
  const notes: string[] = [];
  for (const n of p.nics) {
    if (n.type !== 'user' && n.type !== 'bridge') {
      notes.push(
        `network: the NIC of type ${n.type}${n.network ? ` (network ${n.network})` : ''} is left out: the VM is on the pod network`,
      );
    }
  }
  const disks = p.disks.filter((d) => d.device === 'disk');
  for (const d of disks.filter((x) => x.readonly || x !== disks.find((y) => !y.readonly))) {
    notes.push(
      `disk ${d.path ?? '(no file)'}: only the main disk is carried; add a DataVolume and a disk to the VM for it`,
    );
  }
  if (p.boot.kind === 'cdrom') {
    notes.push(`cdrom: the VM boots the installer ${p.boot.iso}, which is not carried`);
  }
  return notes;
}
