// A hostile mirror: an endless body, a size it lies about, a decompression bomb, a redirect that downgrades
// https to http or leaves http(s). Real servers on 127.0.0.1 (http and, with a certificate made here, https).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { roostPaths } from '../paths.js';
import { decompressFile } from './decompress.js';
import { downloadResumable } from './download.js';
import { DownloadError, ImageTooLargeError } from './errors.js';
import { get, redirectRefusal } from './http.js';
import { maxImageBytes } from './limits.js';
import { createImageStore } from './store.js';
import { sha256 } from './testing.js';

let dir: string;
const servers: Server[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roost-limits-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await rm(dir, { recursive: true, force: true });
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Counts requests; `handler` answers them. */
function counting(handler: Parameters<typeof createServer>[1]) {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler!(req, res);
  });
  return { server, hits };
}

const MiB = 2 ** 20;
const fast = { retryDelayMs: 5, progressIntervalMs: 0, retries: 2 };

describe('download size limit', () => {
  it('stops an endless chunked body at the limit and keeps nothing', async () => {
    let sent = 0;
    const { server } = counting((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no Content-Length: chunked
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const port = await listen(server);
    const part = join(dir, 'img.part');
    const err = await downloadResumable({
      url: `http://127.0.0.1:${port}/img.qcow2`,
      part,
      image: 'img',
      maxBytes: 4 * MiB,
      ...fast,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageTooLargeError);
    expect(err).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect(existsSync(part)).toBe(false);
    expect(existsSync(`${part}.json`)).toBe(false);
    expect(sent).toBeLessThan(64 * MiB);
  });

  it('refuses a declared size over the limit before writing a byte', async () => {
    const { server } = counting((_req, res) => {
      res.writeHead(200, { 'content-length': String(100 * MiB) });
      res.write(Buffer.alloc(1024));
    });
    const port = await listen(server);
    const part = join(dir, 'img.part');
    await expect(
      downloadResumable({ url: `http://127.0.0.1:${port}/x`, part, image: 'x', maxBytes: MiB, ...fast }),
    ).rejects.toBeInstanceOf(ImageTooLargeError);
    expect(existsSync(part)).toBe(false);
  });

  it('ROOST_IMAGE_MAX_BYTES sets the limit; a bad value is a usage error', () => {
    expect(maxImageBytes({})).toBe(64 * 2 ** 30);
    expect(maxImageBytes({ ROOST_IMAGE_MAX_BYTES: '512M' })).toBe(512 * MiB);
    expect(maxImageBytes({ ROOST_IMAGE_MAX_BYTES: '1048576' })).toBe(MiB);
    expect(() => maxImageBytes({ ROOST_IMAGE_MAX_BYTES: 'lots' })).toThrow(/is not a size/);
  });
});

const zeros = Buffer.alloc(64 * MiB);
const bombs: [string, 'gz' | 'xz' | 'zst', () => Buffer][] = [
  ['gzip', 'gz', () => gzipSync(zeros)],
  ['xz', 'xz', () => execFileSync('xz', ['-c', '-1'], { input: zeros, maxBuffer: 1 << 26 })],
  ['zstd', 'zst', () => execFileSync('zstd', ['-c', '-q'], { input: zeros, maxBuffer: 1 << 26 })],
];

describe('decompression limit', () => {
  for (const [, compression, make] of bombs) {
    it(`stops a ${compression} bomb at the limit`, async () => {
      const src = join(dir, `bomb.${compression}`);
      await writeFile(src, make());
      const dest = join(dir, 'out');
      await expect(decompressFile(src, dest, compression, { maxBytes: 4 * MiB })).rejects.toBeInstanceOf(
        ImageTooLargeError,
      );
    });
  }

  it('a pulled gzip bomb never reaches the cache (ROOST_IMAGE_MAX_BYTES through the store)', async () => {
    const bomb = gzipSync(zeros);
    const { server } = counting((req, res) => {
      if (req.url === '/img.qcow2.gz') res.writeHead(200, { 'content-length': bomb.length }).end(bomb);
      else res.writeHead(200).end(`${sha256(bomb)}  img.qcow2.gz\n`);
    });
    const port = await listen(server);
    const paths = roostPaths({ HOME: dir });
    await mkdir(paths.config, { recursive: true });
    await writeFile(
      join(paths.config, 'images.yaml'),
      `images:\n  - name: bomb\n    url: http://127.0.0.1:${port}/img.qcow2.gz\n    checksum: http://127.0.0.1:${port}/SHA256SUMS\n    user: tester\n`,
    );
    const store = createImageStore({ paths, env: { ROOST_IMAGE_MAX_BYTES: '8M' }, download: fast });
    await expect(store.pull('bomb')).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect(await readdir(store.dir)).toEqual([]);
  });
});

describe('redirects', () => {
  it('the policy: http(s) only, never https → http', () => {
    const u = (s: string) => new URL(s);
    expect(redirectRefusal(u('https://a/x'), u('https://b/y'))).toBeUndefined();
    expect(redirectRefusal(u('http://a/x'), u('https://b/y'))).toBeUndefined();
    expect(redirectRefusal(u('http://a/x'), u('http://b/y'))).toBeUndefined();
    expect(redirectRefusal(u('https://a/x'), u('http://b/y'))).toMatch(/https to http/);
    expect(redirectRefusal(u('http://a/x'), u('file:///etc/passwd'))).toMatch(/file:/);
  });

  it('refuses a redirect to file:, and caps the number of redirects', async () => {
    const { server } = counting((req, res) => {
      if (req.url === '/file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      else res.writeHead(302, { location: `/loop${Number(req.url!.slice(5) || 0) + 1}` }).end();
    });
    const port = await listen(server);
    await expect(get(`http://127.0.0.1:${port}/file`)).rejects.toThrow(/refusing a redirect to a file: URL/);
    const loop = await get(`http://127.0.0.1:${port}/loop0`, { maxRedirects: 3 }).catch((e: unknown) => e);
    expect(loop).toBeInstanceOf(DownloadError);
    expect((loop as Error).message).toMatch(/too many redirects/);
  });

  // openssl and xz are test dependencies (scripts/setup-host.sh --with-test-deps): never skipped.
  it('refuses an https mirror redirecting to http: the http server is never asked', async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const plain = counting((_req, res) => res.writeHead(200).end('image bytes'));
    const plainPort = await listen(plain.server);
    const tls = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, (req, res) => {
      if (req.url === '/same') res.writeHead(302, { location: '/final' }).end();
      else if (req.url === '/final') res.writeHead(200).end('over tls');
      else res.writeHead(302, { location: `http://127.0.0.1:${plainPort}/img.qcow2` }).end();
    });
    const tlsPort = await listen(tls as unknown as Server);
    const ca = await readFile(cert);
    // The certificate works: an https → https redirect is followed.
    const ok = await get(`https://127.0.0.1:${tlsPort}/same`, { ca });
    expect(ok.res.statusCode).toBe(200);
    ok.res.resume();
    const err = await downloadResumable({
      url: `https://127.0.0.1:${tlsPort}/img.qcow2`,
      part: join(dir, 'img.part'),
      image: 'img',
      ca,
      ...fast,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/refusing a redirect from https to http/);
    expect(plain.hits).toEqual([]);
  });
});
