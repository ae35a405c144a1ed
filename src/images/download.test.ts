import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadResumable } from './download.js';
import { ChecksumMismatchError, DownloadError } from './errors.js';
import { fixtureQcow2, sha256, startFileServer, type FileServer } from './testing.js';
import type { PullEvent } from './types.js';

const image = fixtureQcow2(1 << 20);
let dir: string;
let server: FileServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roost-dl-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const fast = { retryDelayMs: 5, progressIntervalMs: 0 };

describe('downloadResumable', () => {
  it('streams the file with progress events and returns its digest', async () => {
    server = await startFileServer({ files: { '/img.qcow2': image } });
    const events: PullEvent[] = [];
    const part = join(dir, 'img.part');
    const r = await downloadResumable({
      url: `${server.url}/img.qcow2`,
      part,
      image: 'img',
      expected: { algorithm: 'sha256', hex: sha256(image) },
      onProgress: (e) => events.push(e),
      ...fast,
    });
    expect(r).toMatchObject({ size: image.length, digest: sha256(image), transferred: image.length });
    expect(sha256(await readFile(part))).toBe(sha256(image));
    expect(events[0]).toMatchObject({ type: 'start', total: image.length, resumeFrom: 0 });
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ received: image.length, total: image.length });
    for (const p of progress) if (p.type === 'progress') expect(p.rate).toBeGreaterThanOrEqual(0);
  });

  it('resumes with Range/If-Range after the server drops the connection mid-file', async () => {
    server = await startFileServer({
      files: { '/img.qcow2': image },
      drop: { path: '/img.qcow2', afterBytes: 300_000 },
    });
    const events: PullEvent[] = [];
    const r = await downloadResumable({
      url: `${server.url}/img.qcow2`,
      part: join(dir, 'img.part'),
      image: 'img',
      expected: { algorithm: 'sha256', hex: sha256(image) },
      onProgress: (e) => events.push(e),
      ...fast,
    });
    expect(r.digest).toBe(sha256(image));
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(first!.range).toBeUndefined();
    expect(second!.range).toMatch(/^bytes=\d+-$/);
    expect(second!.ifRange).toMatch(/^"/);
    expect(second!.status).toBe(206);
    const sent = server.requests.reduce((n, q) => n + q.sent, 0);
    expect(sent).toBeLessThan(2 * image.length);
    expect(r.transferred).toBeLessThan(2 * image.length);
    expect(events.find((e) => e.type === 'retry')).toMatchObject({ attempt: 1 });
    expect(events.filter((e) => e.type === 'start').at(-1)).toMatchObject({ resumeFrom: first!.sent });
  });

  it('resumes a partial file left by an earlier run when the validator still matches', async () => {
    server = await startFileServer({ files: { '/img.qcow2': image } });
    const url = `${server.url}/img.qcow2`;
    const part = join(dir, 'img.part');
    // What a killed run leaves behind: a prefix and the validator of the response it came from.
    const etag = await fetch(url, { method: 'GET' }).then(async (r) => {
      await r.arrayBuffer();
      return r.headers.get('etag')!;
    });
    await writeFile(part, image.subarray(0, 400_000));
    await writeFile(`${part}.json`, JSON.stringify({ url, etag }));
    const r = await downloadResumable({
      url,
      part,
      image: 'img',
      expected: { algorithm: 'sha256', hex: sha256(image) },
      ...fast,
    });
    expect(r.transferred).toBe(image.length - 400_000);
    expect(server.requests.at(-1)).toMatchObject({ status: 206, range: 'bytes=400000-' });
  });

  it('starts over when the file changed on the server (If-Range fails: 200)', async () => {
    server = await startFileServer({ files: { '/img.qcow2': image } });
    const url = `${server.url}/img.qcow2`;
    const part = join(dir, 'img.part');
    await writeFile(part, Buffer.alloc(400_000, 7));
    await writeFile(`${part}.json`, JSON.stringify({ url, etag: '"an-older-build"' }));
    const r = await downloadResumable({
      url,
      part,
      image: 'img',
      expected: { algorithm: 'sha256', hex: sha256(image) },
      ...fast,
    });
    expect(r.transferred).toBe(image.length);
    expect(server.requests.at(-1)).toMatchObject({ status: 200, range: 'bytes=400000-' });
    expect(sha256(await readFile(part))).toBe(sha256(image));
  });

  it('starts over when the server ignores Range', async () => {
    server = await startFileServer({
      files: { '/img.qcow2': image },
      drop: { path: '/img.qcow2', afterBytes: 300_000 },
      ignoreRange: true,
    });
    const part = join(dir, 'img.part');
    const r = await downloadResumable({
      url: `${server.url}/img.qcow2`,
      part,
      image: 'img',
      expected: { algorithm: 'sha256', hex: sha256(image) },
      ...fast,
    });
    expect(r.digest).toBe(sha256(image));
    expect(server.requests.map((q) => q.status)).toEqual([200, 200]);
    expect(sha256(await readFile(part))).toBe(sha256(image));
  });

  it('deletes the partial file and throws a typed error on a checksum mismatch', async () => {
    server = await startFileServer({ files: { '/img.qcow2': image } });
    const err = await downloadResumable({
      url: `${server.url}/img.qcow2`,
      part: join(dir, 'img.part'),
      image: 'img',
      expected: { algorithm: 'sha256', hex: '0'.repeat(64) },
      ...fast,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect(err).toMatchObject({
      code: 'IMAGE_CHECKSUM_MISMATCH',
      expected: '0'.repeat(64),
      actual: sha256(image),
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails at once, without retrying, on a 404', async () => {
    server = await startFileServer({ files: {} });
    const err = await downloadResumable({
      url: `${server.url}/missing.qcow2`,
      part: join(dir, 'img.part'),
      image: 'img',
      ...fast,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err).toMatchObject({ status: 404, retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after the retries when the connection keeps dropping', async () => {
    server = await startFileServer({
      files: { '/img.qcow2': image },
      drop: { path: '/img.qcow2', afterBytes: 1000, times: 10 },
      ignoreRange: true,
    });
    const err = await downloadResumable({
      url: `${server.url}/img.qcow2`,
      part: join(dir, 'img.part'),
      image: 'img',
      retries: 2,
      ...fast,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGE_DOWNLOAD_FAILED', retryable: true });
    expect(server.requests).toHaveLength(3);
  });
});
