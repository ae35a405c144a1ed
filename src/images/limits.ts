// How large a download, and an image decompressed from one, may grow. The catalogue does not declare sizes, so
// one limit bounds both: a mirror that sends an endless body, or a small file that decompresses to fill the
// disk, is stopped there and leaves nothing behind. ROOST_IMAGE_MAX_BYTES raises (or lowers) it.
import { ImageConfigError } from './errors.js';

export const DEFAULT_MAX_IMAGE_BYTES = 64 * 2 ** 30;

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** ROOST_IMAGE_MAX_BYTES: bytes, or a size like 64G / 512M (binary units); unset → the default. */
export function maxImageBytes(env: NodeJS.ProcessEnv): number {
  const text = env.ROOST_IMAGE_MAX_BYTES?.trim();
  if (!text) return DEFAULT_MAX_IMAGE_BYTES;
  const m = /^(\d+)\s*([KMGT]?)(?:i?B)?$/i.exec(text);
  const bytes = m ? Number(m[1]) * UNITS[m[2]!.toUpperCase()]! : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ImageConfigError(`ROOST_IMAGE_MAX_BYTES='${text}' is not a size`, {
      hint: 'give bytes or a size like 64G or 512M',
    });
  }
  return bytes;
}
