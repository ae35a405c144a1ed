// The NoCloud seed: user-data, meta-data and network-config on an ISO 9660 volume labelled `cidata`, which
// cloud-init finds among the VM's disks at first boot.
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { withPath } from '../errors.js';
import { ensurePrivateDir } from '../paths.js';
import { buildIso9660 } from './iso9660.js';
import { buildMetaData, buildNetworkConfig, newInstanceId } from './meta-data.js';
import type { SeedMount } from './mounts.js';
import { buildUserData, type CloudConfig } from './user-data.js';

export interface SeedFiles {
  userData: string;
  metaData: string;
  /** Omitted: the image's own default (DHCP on the first NIC, usually). */
  networkConfig?: string;
}

export const SEED_LABEL = 'cidata';

/** Writes the seed ISO at `path` (0600, atomically: a temp file renamed into place). */
export async function writeSeedIso(
  path: string,
  files: SeedFiles,
  opts: { timestamp?: Date } = {},
): Promise<void> {
  const iso = buildIso9660({
    volumeId: SEED_LABEL,
    timestamp: opts.timestamp,
    files: [
      { name: 'user-data', data: files.userData },
      { name: 'meta-data', data: files.metaData },
      ...(files.networkConfig !== undefined ? [{ name: 'network-config', data: files.networkConfig }] : []),
    ],
  });
  ensurePrivateDir(dirname(path));
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, iso, { mode: 0o600 });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw withPath(e, path);
  }
}

export interface SeedRequest {
  /** Where to write the ISO, e.g. DATA/seeds/NAME.iso. */
  path: string;
  hostname: string;
  user: string;
  sshPublicKeys: string[];
  shell?: string;
  /** MAC of the VM's (first) NIC: the network-config matches it. */
  mac?: string;
  /** MACs of further NICs: DHCP on them too, without their routes and DNS (the first NIC's stay the default). */
  otherMacs?: string[];
  /** From --cloud-init FILE (readCloudConfigFile). */
  extra?: CloudConfig;
  /** Shared folders the guest mounts at every boot. */
  mounts?: SeedMount[];
  /** The login user's uid (the host user's, when the VM has shared folders). */
  uid?: number;
}

/** Everything in one call: builds the three documents and writes the ISO. Returns the instance id used. */
export async function createSeed(
  req: SeedRequest,
): Promise<{ path: string; instanceId: string; files: SeedFiles }> {
  const instanceId = newInstanceId();
  const files: SeedFiles = {
    userData: buildUserData({
      user: req.user,
      sshPublicKeys: req.sshPublicKeys,
      hostname: req.hostname,
      shell: req.shell,
      extra: req.extra,
      mounts: req.mounts,
      uid: req.uid,
    }),
    metaData: buildMetaData({ instanceId, hostname: req.hostname }),
    networkConfig: buildNetworkConfig({ mac: req.mac, otherMacs: req.otherMacs }),
  };
  await writeSeedIso(req.path, files);
  return { path: req.path, instanceId, files };
}
