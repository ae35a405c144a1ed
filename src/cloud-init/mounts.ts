// Shared folders in the seed: each becomes an /etc/fstab line (nofail: a missing share never stops the boot) and
// is mounted once at first boot; from then on systemd mounts it from fstab at every boot. Plain write_files and
// runcmd rather than cloud-init's `mounts:` module, which takes the first field for a block device and rewrites
// a 9p or virtiofs tag into /dev/TAG on the cloud-init versions current distributions ship.
import type { CloudConfig } from './user-data.js';

export interface SeedMount {
  /** The mount tag (roost0…). */
  tag: string;
  /** Absolute, normalised, without spaces (src/vm/mounts.ts checks it). */
  guestDir: string;
  type: '9p' | 'virtiofs';
  /** mount(8) options, e.g. trans=virtio,version=9p2000.L,msize=512000,ro. */
  options: string;
}

/** The fstab line of a shared folder. */
export function fstabLine(m: SeedMount): string {
  return `${m.tag} ${m.guestDir} ${m.type} ${m.options},nofail 0 0`;
}

/** The cloud-config that mounts these shared folders now and at every boot; {} for none. */
export function mountsCloudConfig(mounts: readonly SeedMount[]): CloudConfig {
  if (mounts.length === 0) return {};
  return {
    write_files: [
      {
        path: '/etc/fstab',
        append: true,
        content: `# roost shared folders (roost mount ls NAME on the host)\n${mounts.map(fstabLine).join('\n')}\n`,
      },
    ],
    runcmd: mounts.flatMap((m) => [
      ['mkdir', '-p', m.guestDir],
      ['mount', m.guestDir],
    ]),
  };
}
