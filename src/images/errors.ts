// Errors of the image layer. Each has a stable code (docs/images.md lists them) and, where there is one, the fix.
import { NotFoundError, RoostError, UsageError, type RoostErrorOptions } from '../errors.js';
import { printable } from './text.js';

/** The downloaded bytes do not match the published checksum: nothing entered the cache. */
export class ChecksumMismatchError extends RoostError {
  constructor(
    readonly image: string,
    readonly algorithm: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      'IMAGE_CHECKSUM_MISMATCH',
      `image '${image}': ${algorithm} checksum mismatch (expected ${expected.slice(0, 16)}…, got ${actual.slice(0, 16)}…); the download was discarded`,
      { hint: `try again: roost image pull ${image} (if it keeps failing, the mirror may be out of sync)` },
    );
  }
}

/** An HTTP(S) transfer failed: status, network error, or the connection dropped and retries ran out. */
export class DownloadError extends RoostError {
  constructor(
    readonly url: string,
    message: string,
    opts: RoostErrorOptions & { status?: number; retryable?: boolean } = {},
  ) {
    super('IMAGE_DOWNLOAD_FAILED', message, opts);
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
  }
  readonly status?: number;
  /** A dropped connection or 5xx: worth another attempt (resuming where it stopped). */
  readonly retryable: boolean;
}

/** The checksum source has no line for the image file. */
export class ChecksumNotFoundError extends RoostError {
  constructor(file: string, source: string) {
    super('IMAGE_CHECKSUM_MISSING', `no checksum for '${file}' in ${source}`, {
      hint: 'the catalogue entry may be outdated: check the url and checksum in ~/.config/roost/images.yaml',
    });
  }
}

/** ~/.config/roost/images.yaml is not valid: the message names the file and line. */
export class ImageConfigError extends UsageError {
  constructor(message: string, opts: RoostErrorOptions = {}) {
    super('IMAGE_CONFIG_INVALID', message, {
      hint: opts.hint ?? 'fix the file (docs/images.md describes its format)',
      cause: opts.cause,
    });
  }
}

export class ImageNotFoundError extends NotFoundError {
  constructor(ref: string, known: string[]) {
    super('IMAGE_NOT_FOUND', `no image named '${ref}'`, {
      hint: `known images: ${known.join(', ')} (roost image ls); or give a path to a qcow2/raw file`,
    });
  }
}

/** Decompression needs a program (xz, zstd) that is not installed, or it failed. */
export class DecompressError extends RoostError {
  constructor(message: string, opts: RoostErrorOptions = {}) {
    super('IMAGE_DECOMPRESS_FAILED', message, opts);
  }
}

/** What the qcow2 parser (qcow2.ts) found wrong; probe.ts turns it into an ImageRefusedError naming the file. */
export type Qcow2Problem = 'truncated' | 'invalid' | 'unsupported' | 'external-data';

export class Qcow2Error extends Error {
  constructor(
    readonly problem: Qcow2Problem,
    message: string,
    readonly opts: { hint?: string } = {},
  ) {
    super(message);
    this.name = 'Qcow2Error';
  }
}

/**
 * A file given as an image (or ISO, kernel, initrd) that roost will not hand to QEMU: not a regular file, not an
 * image at all, a format roost does not take, or a qcow2 that would make QEMU open other host files. Codes:
 * FILE_NOT_REGULAR, IMAGE_NOT_AN_IMAGE, IMAGE_FORMAT_UNSUPPORTED, IMAGE_QCOW2_INVALID, IMAGE_QCOW2_UNSUPPORTED,
 * IMAGE_EXTERNAL_DATA_FILE, IMAGE_HAS_BACKING_FILE, IMAGE_NOT_PRIVATE, ISO_NOT_AN_ISO.
 */
export class ImageRefusedError extends UsageError {
  constructor(code: string, message: string, opts: RoostErrorOptions = {}) {
    super(code, message, opts);
  }
}

/** An image name (or alias) that cannot be one: it would not stay a plain file name inside the cache. */
export class ImageNameError extends UsageError {
  constructor(name: string) {
    super('IMAGE_NAME_INVALID', `'${printable(name, 80)}' is not a valid image name`, {
      hint: 'image names are 1–63 lowercase letters, digits, . _ -, starting with a letter or digit (roost image ls)',
    });
  }
}

/** A download or its decompressed output grew past the limit: a hostile or broken mirror, or a bomb. */
export class ImageTooLargeError extends RoostError {
  constructor(what: string, limit: number) {
    super('IMAGE_TOO_LARGE', `${what} is larger than the limit of ${limit} bytes; nothing was kept`, {
      hint: 'if the image really is that large, raise the limit: ROOST_IMAGE_MAX_BYTES=128G (docs/images.md)',
    });
  }
}
