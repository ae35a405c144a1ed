// Images: the public surface used by vm/create, the CLI and the web API.
export { BUILTIN_IMAGES, ImageEntrySchema, findEntry } from './catalog.js';
export { findChecksum, parseChecksumFile, type ChecksumLine } from './checksum.js';
export { parseImageConfig, loadImageConfig, type ImageConfig } from './config.js';
export {
  ChecksumMismatchError,
  ChecksumNotFoundError,
  DecompressError,
  DownloadError,
  ImageConfigError,
  ImageNameError,
  ImageNotFoundError,
  ImageRefusedError,
  ImageTooLargeError,
} from './errors.js';
export { applyMirrors, parseMirrorEnv, type MirrorRule } from './mirror.js';
export {
  assertIsoImage,
  assertRegularFile,
  assertUsableImage,
  probeImage,
  type ImageFacts,
} from './probe.js';
export { checkImageName, isImageName } from './names.js';
export { DEFAULT_MAX_IMAGE_BYTES, maxImageBytes } from './limits.js';
export {
  createImageStore,
  imageStore,
  resolveImage,
  type ImageListing,
  type ImageStore,
  type ImageStoreOptions,
  type ImportOptions,
  type PullOptions,
} from './store.js';
export type { CachedImage } from './cache.js';
export type * from './types.js';
