// RPC benchmarks of roost's libvirt client, one process per round (bench/run.ts drives it).
// The same cases, measured the same way, are in bench/baselines/rpc.py for python3-libvirt (the C library).
//
// Usage: node --import tsx bench/rpc.ts URI DOMAIN SECONDS CASE...
//   seq      lookupDomain(DOMAIN) + getState, one after the other            → ops/s (one op = both calls)
//   pipe16   the same, 16 loops in flight on one connection                 → ops/s
//   list     listDomains() (all domains, active and inactive)               → calls/s
//   connect  connect(URI) + close(): dial, AUTH_LIST, CONNECT_OPEN, CONNECT_CLOSE → median and mean ms
// Prints one JSON object per case on stdout: { impl, case, ops, seconds, rate, extra }.
import { connect, type LibvirtClient } from '../src/index.js';

export interface CaseResult {
  impl: string;
  case: string;
  ops: number;
  seconds: number;
  /** ops / seconds */
  rate: number;
  extra?: Record<string, number | string>;
}

const [uri, domain, secondsArg, ...cases] = process.argv.slice(2);
if (!uri || !domain || !secondsArg || cases.length === 0) {
  console.error('usage: bench/rpc.ts URI DOMAIN SECONDS CASE...');
  process.exit(2);
}
const seconds = Number(secondsArg);

/** Runs `op` repeatedly for `seconds` (after a short warm-up) and counts completions. */
async function timed(
  op: () => Promise<void>,
  secs: number,
  warmupOps = 200,
): Promise<{ ops: number; s: number }> {
  for (let i = 0; i < warmupOps; i++) await op();
  const end = performance.now() + secs * 1000;
  const start = performance.now();
  let ops = 0;
  let now = start;
  while (now < end) {
    // Check the clock every 16 ops: performance.now() is cheap but not free next to a 30 µs op.
    for (let i = 0; i < 16; i++) await op();
    ops += 16;
    now = performance.now();
  }
  return { ops, s: (now - start) / 1000 };
}

async function lookupAndState(client: LibvirtClient): Promise<void> {
  const dom = await client.lookupDomain(domain!);
  await client.getState(dom);
}

async function seq(): Promise<CaseResult> {
  const client = await connect(uri);
  const { ops, s } = await timed(() => lookupAndState(client), seconds);
  await client.close();
  return { impl: 'roost', case: 'seq', ops, seconds: s, rate: ops / s };
}

async function pipelined(depth: number): Promise<CaseResult> {
  const client = await connect(uri);
  const loop = async (stopAt: number, counter: { n: number }) => {
    while (performance.now() < stopAt) {
      await lookupAndState(client);
      counter.n++;
    }
  };
  // warm-up
  await Promise.all(Array.from({ length: depth }, () => loop(performance.now() + 300, { n: 0 })));
  const counter = { n: 0 };
  const start = performance.now();
  await Promise.all(Array.from({ length: depth }, () => loop(start + seconds * 1000, counter)));
  const s = (performance.now() - start) / 1000;
  await client.close();
  return { impl: 'roost', case: `pipe${depth}`, ops: counter.n, seconds: s, rate: counter.n / s };
}

async function list(): Promise<CaseResult> {
  const client = await connect(uri);
  const count = (await client.listDomains()).length;
  const { ops, s } = await timed(
    async () => {
      await client.listDomains();
    },
    seconds,
    50,
  );
  await client.close();
  return { impl: 'roost', case: 'list', ops, seconds: s, rate: ops / s, extra: { domains: count } };
}

async function connectClose(): Promise<CaseResult> {
  const once = async () => {
    const client = await connect(uri);
    await client.close();
  };
  for (let i = 0; i < 50; i++) await once();
  // Each connection timed on its own: a latency, reported as the median (and mean) of all of them.
  const samples: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  for (let now = start; now < end;) {
    await once();
    const t = performance.now();
    samples.push(t - now);
    now = t;
  }
  const s = (performance.now() - start) / 1000;
  samples.sort((a, b) => a - b);
  return {
    impl: 'roost',
    case: 'connect',
    ops: samples.length,
    seconds: s,
    rate: samples.length / s,
    extra: {
      msMedian: samples[samples.length >> 1]!,
      msMean: (s * 1000) / samples.length,
    },
  };
}

for (const c of cases) {
  let r: CaseResult;
  switch (c) {
    case 'seq':
      r = await seq();
      break;
    case 'pipe16':
      r = await pipelined(16);
      break;
    case 'list':
      r = await list();
      break;
    case 'connect':
      r = await connectClose();
      break;
    default:
      console.error(`unknown case ${c}`);
      process.exit(2);
  }
  console.log(JSON.stringify(r));
}
