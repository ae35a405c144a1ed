// cloud-init NoCloud seeds: the public surface used by vm/create.
export { buildIso9660, type IsoFile, type IsoOptions } from './iso9660.js';
export { buildMetaData, buildNetworkConfig, newInstanceId } from './meta-data.js';
export { createSeed, writeSeedIso, SEED_LABEL, type SeedFiles, type SeedRequest } from './seed.js';
export { ensureRoostSshKey, findUserSshKeys, readSshPublicKey, type SshKey } from './ssh-key.js';
export {
  baseCloudConfig,
  buildUserData,
  checkedCloudConfig,
  mergeCloudConfig,
  parseCloudConfig,
  readCloudConfigFile,
  type CloudConfig,
  type UserDataOptions,
} from './user-data.js';
