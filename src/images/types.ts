// Types shared by the image modules and their callers (vm/create, the CLI, the web API): a leaf module.

export type ImageFormat = 'qcow2' | 'raw';
export type Compression = 'none' | 'xz' | 'zst' | 'gz';
export type Firmware = 'uefi' | 'bios';
export type HashAlgorithm = 'sha256' | 'sha512';

/** Where a download's checksum comes from: a published SUMS/CHECKSUM file, or a digest written in the entry. */
export type ChecksumSource =
  { algorithm: HashAlgorithm; url: string } | { algorithm: HashAlgorithm; value: string };

/** One image roost knows: built in, from ~/.config/roost/images.yaml, or imported with `roost image import`. */
export interface ImageEntry {
  /** What users type: `roost create web --image debian-12`. */
  name: string;
  aliases?: string[];
  /** Human description, e.g. "Debian 12 (bookworm)". */
  os: string;
  /** Absent for import-only entries (RHEL: the user downloads it behind a login). */
  url?: string;
  checksum?: ChecksumSource;
  /** Format once decompressed. */
  format: ImageFormat;
  /** Compression of the downloaded file (default: from the URL's suffix). */
  compression?: Compression;
  firmware: Firmware;
  /** Login user the seed creates (cloud-init) and `roost ssh` uses. */
  user: string;
  /** Login shell for that user (default /bin/bash). */
  shell?: string;
  /** Least disk and memory the OS is happy with. */
  minDiskGiB: number;
  minMemoryMiB: number;
  arch: 'x86_64';
  /** Where to get it by hand, for import-only entries. */
  downloadPage?: string;
  notes?: string;
  /** builtin, the user's images.yaml (with its path), or an import. */
  origin: 'builtin' | 'config' | 'import';
}

/** Progress of a pull, for bars (term/progress.ts) and JSON lines. */
export type PullEvent =
  | { type: 'start'; image: string; url: string; total?: number; resumeFrom: number }
  | { type: 'progress'; image: string; received: number; total?: number; rate: number; eta?: number }
  | { type: 'retry'; image: string; attempt: number; reason: string; resumeFrom: number }
  | { type: 'waiting'; image: string; pid: number }
  | { type: 'verify'; image: string; algorithm: HashAlgorithm }
  | { type: 'decompress'; image: string; compression: Compression }
  | { type: 'done'; image: string; path: string; size: number; downloaded: boolean };

export type PullProgress = (event: PullEvent) => void;

/** An image file ready to be a VM's backing store. */
export interface ResolvedImage {
  path: string;
  format: ImageFormat;
  /** Size the guest sees, in bytes (from the image header). */
  virtualSize: number;
  /** The catalogue entry; absent when the ref was a plain path. */
  entry?: ImageEntry;
  /** True when this call downloaded it. */
  downloaded: boolean;
}
