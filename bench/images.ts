// Image benchmarks (issue 6, "Performance"):
//
// - Download throughput: a generated 256 MiB file of random bytes (written once under /var/tmp/roost-bench-images/)
//   is served from 127.0.0.1 by a plain Node HTTP server in a child process, and fetched by roost's
//   downloader (downloadResumable, verifying the sha256 computed beforehand, as a real pull does — it also hashes
//   and fsyncs) and by `curl -s -o FILE URL`, 3 rounds alternating which goes first. Medians, MB/s (10^6 B/s),
//   ratio roost ÷ curl. Target ≥ 0.9.
// - Overlays: against a private session daemon of the test user (as bench/run.ts starts one), roost's own
//   ensurePool + createDisk make 10 qcow2 overlays on a 200 MiB base (190 MiB of real data written) and 10 on a
//   2 GiB base (sparse: virtual size 2 GiB, little data). Per base: median and max creation time, and the largest
//   overlay file's size (stat size). Targets ≤ 200 ms and ≤ 1 MiB.
//
// Usage: tsx bench/images.ts      (prints a Markdown section to stdout; progress goes to stderr)
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { downloadResumable } from '../src/images/download.js';
import { connect } from '../src/index.js';
import { roostPaths } from '../src/paths.js';
import { createDisk, ensurePool } from '../src/vm/storage.js';
import { startSessionDaemon, stopSessionDaemon } from '../test/harness/daemon.js';
import { ensureTestUser, type TestUser } from '../test/harness/test-user.js';

const ROUNDS = 3;
const OVERLAYS = 10;
const FILE_BYTES = 256 * 1024 * 1024;
const MiB = 1024 * 1024;
const WORK = '/var/tmp/roost-bench-images';
const log = (m: string) => process.stderr.write(`bench images: ${m}\n`);
const t0 = performance.now();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Runs a command (argument array, no shell); rejects on a non-zero exit. */
function exec(cmd: string, argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${argv.join(' ')}: exit ${code}: ${err}`)),
    );
  });
}

const hasCommand = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;

// ---- 1. download throughput -----------------------------------------------------------------------------

async function benchDownload(): Promise<{
  roost: number;
  curl: number;
  curlSha: number;
  ceiling: number;
  ceilingAll: number[];
  roostAll: number[];
  curlAll: number[];
  curlShaAll: number[];
}> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true, mode: 0o700 });
  const src = join(WORK, 'image.bin');
  log(`writing ${FILE_BYTES / MiB} MiB of random bytes to ${src}`);
  writeFileSync(src, randomBytes(FILE_BYTES));
  const body = readFileSync(src);
  const hex = createHash('sha256').update(body).digest('hex');
  // The server runs in a process of its own: in this process it would share one event loop with roost's
  // downloader (but not with curl), halving roost's number for a reason that has nothing to do with roost.
  const server = await serveFileInChild(src);
  const url = `${server.url}/image.bin`;
  const roostMBs: number[] = [];
  const curlMBs: number[] = [];
  const curlShaMBs: number[] = [];
  const ceilingMBs: number[] = [];
  try {
    const roost = async () => {
      const part = join(WORK, 'roost.part');
      const start = performance.now();
      const r = await downloadResumable({
        url,
        part,
        image: 'bench',
        expected: { algorithm: 'sha256', hex },
        retries: 0,
      });
      const secs = (performance.now() - start) / 1000;
      if (r.size !== FILE_BYTES) throw new Error(`roost downloaded ${r.size} bytes`);
      rmSync(part, { force: true });
      rmSync(`${part}.json`, { force: true });
      roostMBs.push(FILE_BYTES / 1e6 / secs);
    };
    const curl = async () => {
      const out = join(WORK, 'curl.out');
      const start = performance.now();
      await exec('curl', ['-s', '-o', out, url]);
      const secs = (performance.now() - start) / 1000;
      if (statSync(out).size !== FILE_BYTES) throw new Error('curl downloaded a short file');
      rmSync(out, { force: true });
      curlMBs.push(FILE_BYTES / 1e6 / secs);
    };
    // The same work as roost's pull: fetch, then verify the checksum (roost hashes while it downloads).
    const curlSha = async () => {
      const out = join(WORK, 'curl-sha.out');
      const start = performance.now();
      await exec('curl', ['-s', '-o', out, url]);
      await exec('sha256sum', [out]);
      const secs = (performance.now() - start) / 1000;
      rmSync(out, { force: true });
      curlShaMBs.push(FILE_BYTES / 1e6 / secs);
    };
    // The ceiling for any verified download in Node: node:http receiving and hashing, writing nothing.
    const nodeCeiling = async () => {
      const start = performance.now();
      const hash = createHash('sha256');
      await new Promise<void>((resolve, reject) => {
        httpGet(url, (res) => {
          res.on('data', (chunk: Buffer) => hash.update(chunk));
          res.on('end', resolve);
          res.on('error', reject);
        }).on('error', reject);
      });
      if (hash.digest('hex') !== hex) throw new Error('node:http ceiling: wrong digest');
      ceilingMBs.push(FILE_BYTES / 1e6 / ((performance.now() - start) / 1000));
    };
    for (let r = 0; r < ROUNDS; r++) {
      const order = [roost, curl, curlSha, nodeCeiling];
      for (const f of r % 2 === 0 ? order : order.reverse()) await f();
      log(
        `download round ${r + 1}/${ROUNDS}: roost ${roostMBs.at(-1)!.toFixed(0)} MB/s, curl ${curlMBs.at(-1)!.toFixed(0)} MB/s`,
      );
    }
  } finally {
    server.close();
    rmSync(WORK, { recursive: true, force: true });
  }
  return {
    roost: median(roostMBs),
    curl: median(curlMBs),
    curlSha: median(curlShaMBs),
    ceiling: median(ceilingMBs),
    ceilingAll: ceilingMBs,
    roostAll: roostMBs,
    curlAll: curlMBs,
    curlShaAll: curlShaMBs,
  };
}

// ---- 2. overlays --------------------------------------------------------------------------------------

interface OverlayResult {
  label: string;
  medianMs: number;
  maxMs: number;
  maxBytes: number;
}

async function benchOverlays(): Promise<OverlayResult[]> {
  const realUser = ensureTestUser();
  const home = join(realUser.home, '.cache', 'roost-bench-images');
  const user: TestUser = { ...realUser, home, runtimeDir: join(home, 'run') };
  rmSync(home, { recursive: true, force: true });
  const paths = roostPaths({ HOME: home });
  const bases = join(home, 'bases');
  const own = (d: string) => {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) chownSync(d, user.uid, user.gid);
  };
  // Every level the daemon writes under must be the user's (mkdir as root would make them root's).
  for (const d of [
    home,
    user.runtimeDir,
    join(home, '.cache'),
    join(home, '.config'),
    join(home, '.local'),
    join(home, '.local', 'share'),
    paths.data,
    paths.pool,
    bases,
  ])
    own(d);

  const small = join(bases, 'base-200m.qcow2');
  const large = join(bases, 'base-2g.qcow2');
  log('making base images (200 MiB with 190 MiB of data; 2 GiB sparse)');
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', small, '200M']);
  if (hasCommand('qemu-io')) {
    await exec('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 190M', small]);
  } else {
    const raw = join(bases, 'data.raw');
    writeFileSync(raw, randomBytes(200 * MiB));
    await exec('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, small]);
    rmSync(raw, { force: true });
  }
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', large, '2G']);
  for (const f of [small, large]) if (process.getuid?.() === 0) chownSync(f, user.uid, user.gid);

  log(`starting a session daemon as ${user.name} under ${home}`);
  const daemon = await startSessionDaemon(user);
  const results: OverlayResult[] = [];
  try {
    const client = await connect(daemon.uri);
    try {
      const { pool } = await ensurePool(client, paths);
      for (const [label, base, virtual] of [
        ['200 MiB base (190 MiB written)', small, 200 * MiB],
        ['2 GiB base (sparse, virtual size 2 GiB)', large, 2048 * MiB],
      ] as const) {
        const ms: number[] = [];
        const sizes: number[] = [];
        for (let i = 0; i < OVERLAYS; i++) {
          const name = `${virtual === 200 * MiB ? 'small' : 'large'}-${i}.qcow2`;
          const start = performance.now();
          const { path } = await createDisk(client, pool, {
            name,
            capacityBytes: virtual,
            backing: { path: base, format: 'qcow2' },
          });
          ms.push(performance.now() - start);
          sizes.push(statSync(path).size);
        }
        const r = { label, medianMs: median(ms), maxMs: Math.max(...ms), maxBytes: Math.max(...sizes) };
        log(
          `${label}: median ${r.medianMs.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms, max ${r.maxBytes} B`,
        );
        results.push(r);
      }
    } finally {
      await client.close();
    }
  } finally {
    await stopSessionDaemon(daemon);
    rmSync(home, { recursive: true, force: true });
  }
  return results;
}

// ---- the report ---------------------------------------------------------------------------------------

const dl = await benchDownload();
const overlays = await benchOverlays();
const ratio = dl.roost / dl.curl;
const yes = (b: boolean) => (b ? '✅' : '❌');
const range = (xs: number[]) => `<sub>(${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})</sub>`;
const rows: string[] = [
  `| download 256 MiB from 127.0.0.1: roost, MB/s | ${dl.roost.toFixed(0)} ${range(dl.roostAll)} | — | — |`,
  `| download 256 MiB from 127.0.0.1: curl, MB/s | ${dl.curl.toFixed(0)} ${range(dl.curlAll)} | — | — |`,
  `| download throughput ratio roost ÷ curl | ${ratio.toFixed(2)} | ≥ 0.9 | ${yes(ratio >= 0.9)} |`,
  `| for comparison: curl then \`sha256sum\` (the same work as a verified pull), MB/s; roost ÷ that | ${dl.curlSha.toFixed(0)} ${range(dl.curlShaAll)}; ${(dl.roost / dl.curlSha).toFixed(2)} | — | — |`,
  `| for comparison: Node's ceiling — node:http receiving and hashing the file, writing nothing, MB/s; roost ÷ that | ${dl.ceiling.toFixed(0)} ${range(dl.ceilingAll)}; ${(dl.roost / dl.ceiling).toFixed(2)} | — | — |`,
];
for (const o of overlays) {
  rows.push(
    `| ${OVERLAYS} overlays on ${o.label}: creation time, median / max (ms) | ${o.medianMs.toFixed(1)} / ${o.maxMs.toFixed(1)} | ≤ 200 ms | ${yes(o.maxMs <= 200)} |`,
    `| ${OVERLAYS} overlays on ${o.label}: largest overlay file (stat size) | ${(o.maxBytes / 1024).toFixed(0)} KiB | ≤ 1 MiB | ${yes(o.maxBytes <= MiB)} |`,
  );
}
process.stdout.write(`## Images (bench/images.ts)

Download: a 256 MiB file of random bytes served on 127.0.0.1 by a plain Node HTTP server in its own process,
fetched ${ROUNDS} times each by roost's downloader (downloadResumable, hashing as it goes and verifying the sha256 as a
real pull does, writing in 1 MiB batches and flushing to disk), by \`curl -s -o FILE URL\`, by curl followed by
\`sha256sum\`, and by Node's own HTTP client hashing and discarding the bytes; medians (range in small print),
MB = 10^6 bytes. A verified pull cannot outrun that last row — receiving and hashing on one JavaScript thread —
while curl writes without hashing or flushing: on loopback the ratio to curl measures those, not the link.
Overlays: roost's ensurePool + createDisk against a private session daemon of the test user, run as root over its
socket; ${OVERLAYS} qcow2 overlays per base, timed per createDisk call (libvirt createVolume + getVolumePath).

| benchmark | result | target | met |
|---|---:|---|:---:|
${rows.join('\n')}
`);
log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

/** A plain HTTP server for one file, in a child process (Node's own http + a read stream, 1 MiB chunks). */
function serveFileInChild(file: string): Promise<{ url: string; close: () => void }> {
  const code = `
    const http = require('node:http'), fs = require('node:fs');
    const file = process.argv[1];
    const size = fs.statSync(file).size;
    const srv = http.createServer((req, res) => {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'none' });
      fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
    });
    srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + '\\n'));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.stdout!.once('data', (b: Buffer) =>
      resolve({ url: `http://127.0.0.1:${b.toString().trim()}`, close: () => child.kill() }),
    );
  });
}
