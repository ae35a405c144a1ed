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

const MOUNT_OR_SAY =
  'mount "$1" || echo "roost: shared folder $1 not mounted: does this kernel have $2? (roost mount ls on the host)" >&2';

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
    // A folder the guest cannot mount (a kernel without 9p, as Debian's cloud kernel) must not turn cloud-init's
    // status into an error: runcmd's exit status is its last command's. The path and type are arguments of the
    // script, never part of it.
    runcmd: mounts.flatMap((m) => [
      ['mkdir', '-p', m.guestDir],
      ['sh', '-c', MOUNT_OR_SAY, 'roost-mount', m.guestDir, m.type],
    ]),
  };
}

const FSTAB_HEADER = '# roost shared folders';

const isList = (v: unknown): v is unknown[] => Array.isArray(v);

/** A runcmd entry mountsCloudConfig wrote: the mount of one folder (its guest directory), or undefined. */
function mountEntryDir(entry: unknown): string | undefined {
  if (!isList(entry) || entry.length !== 6) return undefined;
  const [sh, c, script, name, dir] = entry;
  return sh === 'sh' &&
    c === '-c' &&
    script === MOUNT_OR_SAY &&
    name === 'roost-mount' &&
    typeof dir === 'string'
    ? dir
    : undefined;
}

/**
 * The cloud-config less what mountsCloudConfig put in it (the fstab lines, the mkdir and mount of each folder), so
 * that `roost export` describes the shared folders once, as folders, and not again as commands in the user-data.
 */
export function withoutMountsConfig(config: CloudConfig): CloudConfig {
  const out: CloudConfig = { ...config };
  if (isList(config.write_files)) {
    const files = config.write_files.filter(
      (f) =>
        !(
          typeof f === 'object' &&
          f !== null &&
          (f as CloudConfig).path === '/etc/fstab' &&
          String((f as CloudConfig).content ?? '').startsWith(FSTAB_HEADER)
        ),
    );
    if (files.length > 0) out.write_files = files;
    else delete out.write_files;
  }
  if (isList(config.runcmd)) {
    const dirs = new Set(config.runcmd.flatMap((e) => mountEntryDir(e) ?? []));
    const isMkdir = (e: unknown) =>
      isList(e) && e.length === 3 && e[0] === 'mkdir' && e[1] === '-p' && dirs.has(e[2] as string);
    const cmds = config.runcmd.filter((e) => mountEntryDir(e) === undefined && !isMkdir(e));
    if (cmds.length > 0) out.runcmd = cmds;
    else delete out.runcmd;
  }
  return out;
}
