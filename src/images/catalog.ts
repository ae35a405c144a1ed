// The images roost knows by name: official cloud images with where to download them and where their checksum is
// published, plus import-only entries (RHEL, behind a login) and the user's own entries from
// ~/.config/roost/images.yaml (config.ts). URLs follow each project's stable "latest" layout where it has one,
// so an entry keeps working across point releases; Fedora and Alpine name the build in the file, so those
// entries name a release and are bumped with roost.
import * as z from 'zod';
import { IMAGE_NAME } from './names.js';
import type { ImageEntry } from './types.js';

export { IMAGE_NAME };
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

const name = z
  .string()
  .regex(IMAGE_NAME, 'lowercase letters, digits, . _ - (up to 63), starting with a letter or digit');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const algorithm = z.enum(['sha256', 'sha512']);

/** An entry as roost uses it; every built-in entry must pass (tested), user entries are converted to it. */
export const ImageEntrySchema = z.strictObject({
  name,
  aliases: z.array(name).optional(),
  os: z.string().min(1),
  url: httpUrl.optional(),
  checksum: z
    .union([
      z.strictObject({ algorithm, url: httpUrl }),
      z.strictObject({
        algorithm,
        value: z.string().regex(/^([0-9a-f]{64}|[0-9a-f]{128})$/, 'a lowercase hex digest'),
      }),
    ])
    .optional(),
  format: z.enum(['qcow2', 'raw']),
  compression: z.enum(['none', 'xz', 'zst', 'gz']).optional(),
  firmware: z.enum(['uefi', 'bios']),
  user: z.string().regex(USER_NAME, 'a login name: lowercase letters, digits, _ -'),
  shell: z.string().startsWith('/').optional(),
  minDiskGiB: z.number().positive(),
  minMemoryMiB: z.number().int().positive(),
  arch: z.literal('x86_64'),
  downloadPage: httpUrl.optional(),
  notes: z.string().optional(),
  origin: z.enum(['builtin', 'config', 'import']),
});

const base = { arch: 'x86_64', origin: 'builtin', format: 'qcow2' } as const;

export const BUILTIN_IMAGES: readonly ImageEntry[] = [
  {
    ...base,
    name: 'debian-12',
    os: 'Debian 12 (bookworm)',
    url: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2',
    checksum: {
      algorithm: 'sha512',
      url: 'https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS',
    },
    firmware: 'uefi',
    user: 'debian',
    minDiskGiB: 4,
    minMemoryMiB: 512,
  },
  {
    ...base,
    name: 'debian-13',
    aliases: ['debian'],
    os: 'Debian 13 (trixie)',
    url: 'https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2',
    checksum: { algorithm: 'sha512', url: 'https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS' },
    firmware: 'uefi',
    user: 'debian',
    minDiskGiB: 4,
    minMemoryMiB: 512,
  },
  {
    ...base,
    name: 'ubuntu-24.04',
    aliases: ['ubuntu', 'noble'],
    os: 'Ubuntu 24.04 LTS (noble)',
    // A qcow2 file despite the .img name.
    url: 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img',
    checksum: { algorithm: 'sha256', url: 'https://cloud-images.ubuntu.com/noble/current/SHA256SUMS' },
    firmware: 'uefi',
    user: 'ubuntu',
    minDiskGiB: 5,
    minMemoryMiB: 1024,
  },
  {
    ...base,
    name: 'fedora-44',
    aliases: ['fedora'],
    os: 'Fedora Cloud 44',
    // download.fedoraproject.org redirects to a nearby mirror. The CHECKSUM file is clearsigned, BSD style.
    url: 'https://download.fedoraproject.org/pub/fedora/linux/releases/44/Cloud/x86_64/images/Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2',
    checksum: {
      algorithm: 'sha256',
      url: 'https://download.fedoraproject.org/pub/fedora/linux/releases/44/Cloud/x86_64/images/Fedora-Cloud-44-1.7-x86_64-CHECKSUM',
    },
    firmware: 'uefi',
    user: 'fedora',
    minDiskGiB: 5,
    minMemoryMiB: 1024,
  },
  {
    ...base,
    name: 'centos-stream-10',
    aliases: ['centos'],
    os: 'CentOS Stream 10',
    url: 'https://cloud.centos.org/centos/10-stream/x86_64/images/CentOS-Stream-GenericCloud-x86_64-10-latest.x86_64.qcow2',
    checksum: {
      algorithm: 'sha256',
      url: 'https://cloud.centos.org/centos/10-stream/x86_64/images/CentOS-Stream-GenericCloud-x86_64-10-latest.x86_64.qcow2.SHA256SUM',
    },
    firmware: 'uefi',
    user: 'cloud-user',
    minDiskGiB: 10,
    minMemoryMiB: 1536,
    notes: 'needs an x86-64-v3 CPU (AVX2); under TCG QEMU must emulate a CPU model that has it',
  },
  {
    ...base,
    name: 'almalinux-9',
    aliases: ['almalinux', 'alma'],
    os: 'AlmaLinux 9',
    url: 'https://repo.almalinux.org/almalinux/9/cloud/x86_64/images/AlmaLinux-9-GenericCloud-latest.x86_64.qcow2',
    checksum: {
      algorithm: 'sha256',
      url: 'https://repo.almalinux.org/almalinux/9/cloud/x86_64/images/CHECKSUM',
    },
    firmware: 'uefi',
    user: 'almalinux',
    minDiskGiB: 10,
    minMemoryMiB: 1024,
  },
  {
    ...base,
    name: 'rocky-9',
    aliases: ['rocky'],
    os: 'Rocky Linux 9',
    url: 'https://dl.rockylinux.org/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base.latest.x86_64.qcow2',
    checksum: {
      algorithm: 'sha256',
      url: 'https://dl.rockylinux.org/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base.latest.x86_64.qcow2.CHECKSUM',
    },
    firmware: 'uefi',
    user: 'rocky',
    minDiskGiB: 10,
    minMemoryMiB: 1024,
  },
  {
    ...base,
    name: 'alpine-3.23',
    aliases: ['alpine'],
    os: 'Alpine Linux 3.23 (nocloud, cloud-init)',
    // The .sha512 file next to each image holds the bare digest.
    url: 'https://dl-cdn.alpinelinux.org/alpine/v3.23/releases/cloud/nocloud_alpine-3.23.4-x86_64-bios-cloudinit-r0.qcow2',
    checksum: {
      algorithm: 'sha512',
      url: 'https://dl-cdn.alpinelinux.org/alpine/v3.23/releases/cloud/nocloud_alpine-3.23.4-x86_64-bios-cloudinit-r0.qcow2.sha512',
    },
    firmware: 'bios',
    user: 'alpine',
    shell: '/bin/sh',
    minDiskGiB: 1,
    minMemoryMiB: 256,
  },
  {
    ...base,
    name: 'rhel-10',
    os: 'Red Hat Enterprise Linux 10 (import only)',
    downloadPage: 'https://access.redhat.com/downloads/content/rhel',
    firmware: 'uefi',
    user: 'cloud-user',
    minDiskGiB: 10,
    minMemoryMiB: 1536,
    notes:
      'download the "KVM Guest Image" (qcow2) with your Red Hat account, then: roost image import FILE --as rhel-10',
  },
  {
    ...base,
    name: 'rhel-9',
    os: 'Red Hat Enterprise Linux 9 (import only)',
    downloadPage: 'https://access.redhat.com/downloads/content/rhel',
    firmware: 'uefi',
    user: 'cloud-user',
    minDiskGiB: 10,
    minMemoryMiB: 1024,
    notes:
      'download the "KVM Guest Image" (qcow2) with your Red Hat account, then: roost image import FILE --as rhel-9',
  },
];

/** Compression of a download, from the entry or the URL's suffix. */
export function compressionOf(
  entry: Pick<ImageEntry, 'url' | 'compression'>,
): NonNullable<ImageEntry['compression']> {
  if (entry.compression) return entry.compression;
  const path = entry.url ? new URL(entry.url).pathname : '';
  if (path.endsWith('.xz')) return 'xz';
  if (path.endsWith('.zst')) return 'zst';
  if (path.endsWith('.gz')) return 'gz';
  return 'none';
}

/** Finds an entry by name or alias; later entries (the user's) win over earlier ones (built in). */
export function findEntry(entries: readonly ImageEntry[], ref: string): ImageEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.name === ref) return entries[i];
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.aliases?.includes(ref)) return entries[i];
  return undefined;
}

/** Entries with later ones replacing earlier ones of the same name, in first-seen order. */
export function mergeEntries(...lists: (readonly ImageEntry[])[]): ImageEntry[] {
  const byName = new Map<string, ImageEntry>();
  for (const list of lists) for (const e of list) byName.set(e.name, e);
  return [...byName.values()];
}
