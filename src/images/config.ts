// ~/.config/roost/images.yaml: the user's own image entries and download mirrors. Validated with zod; every
// error names the file, line and column of the offending value (from the yaml package's source ranges).
//
//   images:
//     - name: my-debian
//       os: Debian 12 with our tools
//       url: https://images.example.org/debian-12-custom.qcow2
//       checksum: https://images.example.org/SHA256SUMS     # or sha256:<hex> / sha512:<hex>
//       user: debian
//   mirrors:
//     - from: https://cloud.debian.org/images/cloud/
//       to: http://mirror.lan/debian-cloud/
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import * as z from 'zod';
import { IMAGE_NAME, ImageEntrySchema } from './catalog.js';
import { ImageConfigError } from './errors.js';
import type { MirrorRule } from './mirror.js';
import type { ChecksumSource, ImageEntry } from './types.js';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const checksum = z
  .string()
  .refine(
    (s) =>
      /^(sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$/.test(s) ||
      (/^https?:\/\//.test(s) && URL.canParse(s)) ||
      /^[\w.\-/]+$/.test(s) /* a file name next to the image */,
    {
      error:
        'must be sha256:<64 hex digits>, sha512:<128 hex digits> or the URL (or file name next to the image) of a SHA256SUMS-style file',
    },
  );

const ConfigImage = z.strictObject({
  name: z
    .string()
    .regex(IMAGE_NAME, 'lowercase letters, digits, . _ - (up to 63), starting with a letter or digit'),
  aliases: z.array(z.string().regex(IMAGE_NAME)).optional(),
  os: z.string().min(1).optional(),
  url: httpUrl,
  checksum,
  format: z.enum(['qcow2', 'raw']).default('qcow2'),
  compression: z.enum(['none', 'xz', 'zst', 'gz']).optional(),
  firmware: z.enum(['uefi', 'bios']).default('uefi'),
  user: z.string(),
  shell: z.string().optional(),
  minDiskGiB: z.number().positive().default(10),
  minMemoryMiB: z.number().int().positive().default(1024),
  notes: z.string().optional(),
});

const ConfigFile = z.strictObject({
  images: z.array(ConfigImage).default([]),
  mirrors: z.array(z.strictObject({ from: httpUrl, to: httpUrl })).default([]),
});

export interface ImageConfig {
  path: string;
  images: ImageEntry[];
  mirrors: MirrorRule[];
}

export const configPath = (configDir: string) => join(configDir, 'images.yaml');

/** Reads the user's images.yaml; a missing file is an empty config. */
export async function loadImageConfig(configDir: string): Promise<ImageConfig> {
  const path = configPath(configDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { path, images: [], mirrors: [] };
    throw new ImageConfigError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseImageConfig(text, path);
}

function toChecksum(s: string, url: string): ChecksumSource {
  const m = /^(sha256|sha512):([0-9a-fA-F]+)$/.exec(s);
  if (m) return { algorithm: m[1] as 'sha256' | 'sha512', value: m[2]!.toLowerCase() };
  // A checksum file: relative names are resolved against the image URL's directory.
  const sums = new URL(s, url).href;
  const algorithm = /512/.test(sums.slice(sums.lastIndexOf('/'))) ? 'sha512' : 'sha256';
  return { algorithm, url: sums };
}

/** Parses and validates the text of images.yaml; `path` is only used in messages. */
export function parseImageConfig(text: string, path: string): ImageConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length) {
    const err = doc.errors[0]!;
    throw new ImageConfigError(`${at(err.pos[0])}: ${err.message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS() ?? {};
  const parsed = ConfigFile.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : 'the file';
    throw new ImageConfigError(`${at(offsetOf(doc, issue.path))}: ${where}: ${issue.message}`);
  }
  const images = parsed.data.images.map((img, i): ImageEntry => {
    const entry: ImageEntry = {
      name: img.name,
      aliases: img.aliases,
      os: img.os ?? img.name,
      url: img.url,
      checksum: toChecksum(img.checksum, img.url),
      format: img.format,
      compression: img.compression,
      firmware: img.firmware,
      user: img.user,
      shell: img.shell,
      minDiskGiB: img.minDiskGiB,
      minMemoryMiB: img.minMemoryMiB,
      arch: 'x86_64',
      notes: img.notes,
      origin: 'config',
    };
    for (const k of Object.keys(entry) as (keyof ImageEntry)[]) if (entry[k] === undefined) delete entry[k];
    // The converted entry must also be a valid catalogue entry (user names, shells…).
    const check = ImageEntrySchema.safeParse(entry);
    if (!check.success) {
      const issue = check.error.issues[0]!;
      const p = ['images', i, ...issue.path];
      throw new ImageConfigError(`${at(offsetOf(doc, p))}: ${p.join('.')}: ${issue.message}`);
    }
    return entry;
  });
  return { path, images, mirrors: parsed.data.mirrors };
}

/** Source offset of the node at `path`, or of its nearest existing parent (a missing key points at its map). */
function offsetOf(doc: Document, path: readonly PropertyKey[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}
