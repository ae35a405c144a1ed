// `npm run bench` (scripts/bench.sh appends its output to BENCHMARKS.md): how roost's cost grows with the number
// of VMs, and what a cold short-lived client gets — measured against the tools a user would otherwise run, on
// the same private session daemon, in the same run.
//
// - `roost ls --json` vs `virsh list --all` at 10, 100 and 500 defined domains (wall time of a fresh process,
//   Node's start-up included); the per-domain slope of each by least squares; an SVG plot of the curves. Beside
//   them, python3-libvirt making the same calls as `roost ls` (bench/baselines/ls.py): what reading every
//   definition costs the daemon and libvirt's own C client, which `virsh list --all` does not ask for.
// - At the largest count: lookup + getState sequential (warmed), 16 in flight, and listAllDomains, roost vs
//   python3-libvirt (bench/rpc.ts, bench/baselines/rpc.py).
// - Cold: a fresh process that imports the built package (bench/cold.mjs) and loops lookup + getState for 2 s
//   with no warm-up, vs python3-libvirt doing the same (rpc.py `cold`).
//
// Usage: tsx bench/scale.ts [--levels 10,100,500] [--runs 9] [--rounds 5] [--svg docs/img/bench-scale.svg]
// Markdown goes to stdout, progress to stderr.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyDomainXml } from '../scripts/lib/tiny-domain-xml.js';
import { connect } from '../src/index.js';
import { tinyGuest } from '../test/harness/fixtures.js';
import type { TestUser } from '../test/harness/test-user.js';
import { timed } from './cli.js';
import { option } from './options.js';
import { runJson, startPrivateDaemon } from './private-daemon.js';
import type { CaseResult } from './rpc.js';
import { lineChartSvg } from './svg-chart.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const LEVELS = option('levels', '10,100,500').split(',').map(Number);
const RUNS = Number(option('runs', '9'));
const ROUNDS = Number(option('rounds', '5'));
const SVG = option('svg', join(repoRoot, 'docs', 'img', 'bench-scale.svg'));
const COLD_SECONDS = 2;
const cli = join(repoRoot, 'dist', 'cli', 'main.js');
const lsPy = join(repoRoot, 'bench', 'baselines', 'ls.py');

const log = (msg: string) => console.error(`bench scale: ${msg}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
const domainName = (i: number) => `scale-${String(i).padStart(3, '0')}`;

interface LevelResult {
  domains: number;
  roostMs: number[];
  virshMs: number[];
  /** python3-libvirt reading every definition, as `roost ls` does (bench/baselines/ls.py). */
  pythonMs: number[];
}

/** Least-squares slope (ms per domain) and intercept of the medians. */
function fitLine(points: { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** Defines tiny-guest domains until `count` exist (16 definitions in flight on one connection). */
async function defineUpTo(uri: string, from: number, count: number, guest: ReturnType<typeof tinyGuest>) {
  const client = await connect(uri);
  try {
    for (let i = from; i < count; i += 16) {
      const batch = [];
      for (let j = i; j < Math.min(i + 16, count); j++) {
        const { kernel, initrd, cmdline } = guest;
        const xml = tinyDomainXml({ name: domainName(j), kernel, initrd, cmdline, forwards: [] });
        batch.push(client.defineDomain(xml));
      }
      await Promise.all(batch);
    }
    const defined = (await client.listDomains()).length;
    if (defined !== count) throw new Error(`expected ${count} domains, found ${defined}`);
  } finally {
    await client.close();
  }
}

/** `roost ls --json`, `virsh list --all` and ls.py, interleaved (each goes first in turn), after two warm-ups. */
async function measureLevel(user: TestUser, domains: number): Promise<LevelResult> {
  const r: LevelResult = { domains, roostMs: [], virshMs: [], pythonMs: [] };
  const runs: [() => Promise<number>, number[]][] = [
    [() => timed(user, process.execPath, [cli, 'ls', '--json']), r.roostMs],
    [() => timed(user, 'virsh', ['-c', 'qemu:///session', 'list', '--all']), r.virshMs],
    [() => timed(user, '/usr/bin/python3', [lsPy, 'qemu:///session']), r.pythonMs],
  ];
  for (let i = 0; i < 2; i++) for (const [run] of runs) await run();
  for (let i = 0; i < RUNS; i++) {
    for (let k = 0; k < runs.length; k++) {
      const [run, into] = runs[(i + k) % runs.length]!;
      into.push(await run());
    }
  }
  return r;
}

/** RPC rates at the largest count and the cold-process case, roost and python alternating who goes first. */
async function measureRpc(user: TestUser, uri: string): Promise<CaseResult[]> {
  const target = domainName(0);
  const rpcTs = join(repoRoot, 'bench', 'rpc.ts');
  const rpcPy = join(repoRoot, 'bench', 'baselines', 'rpc.py');
  const coldJs = join(repoRoot, 'bench', 'cold.mjs');
  const py = '/usr/bin/python3';
  const steps = [
    () => runJson(user, process.execPath, [coldJs, uri, target, String(COLD_SECONDS)]),
    () => runJson(user, py, [rpcPy, uri, target, String(COLD_SECONDS), 'cold']),
    () =>
      runJson(user, process.execPath, [
        '--import',
        'tsx',
        rpcTs,
        uri,
        target,
        '1.5',
        'seq',
        'pipe16',
        'list',
      ]),
    () => runJson(user, py, [rpcPy, uri, target, '1.5', 'seq', 'list']),
  ];
  const out: CaseResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Pairs (roost, python) alternate their order each round.
    for (const [a, b] of [
      [steps[0]!, steps[1]!],
      [steps[2]!, steps[3]!],
    ] as const) {
      const pair = r % 2 === 0 ? [a, b] : [b, a];
      for (const f of pair) out.push(...(await f()));
    }
    log(`RPC round ${r + 1}/${ROUNDS} done`);
  }
  return out;
}

function report(levels: LevelResult[], rpc: CaseResult[], svgPath: string): string {
  const pts = (f: (l: LevelResult) => number[]) => levels.map((l) => ({ x: l.domains, y: median(f(l)) }));
  const roostFit = fitLine(pts((l) => l.roostMs));
  const virshFit = fitLine(pts((l) => l.virshMs));
  const pythonFit = fitLine(pts((l) => l.pythonMs));
  const last = levels[levels.length - 1]!;
  const lastRatio = median(last.roostMs) / median(last.virshMs);
  const fmt = (xs: number[]) =>
    `${median(xs).toFixed(1)} <sub>(${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})</sub>`;
  const rate = (impl: string, c: string) =>
    median(rpc.filter((x) => x.impl === impl && x.case === c).map((x) => x.rate));
  const ratioRow = (what: string, roostCase: string, pyCase: string, target: string, min: number | null) => {
    const ratio = rate('roost', roostCase) / rate('python3-libvirt', pyCase);
    const met = min === null ? '—' : ratio >= min ? 'yes' : '**no**';
    const r0 = Math.round(rate('roost', roostCase)).toLocaleString('en-US');
    const p0 = Math.round(rate('python3-libvirt', pyCase)).toLocaleString('en-US');
    return `| ${what} | ${r0} | ${p0} | **${ratio.toFixed(2)}×** | ${target} | ${met} |`;
  };
  const svgLink = relative(repoRoot, svgPath);
  return `## Scaling: many domains, cold clients (bench/scale.ts)

Wall time of a fresh process, start to exit, as the test user against one private session daemon holding N
defined (inactive) tiny-guest domains: \`roost ls --json\` (Node's start-up included), \`virsh list --all\`, and
for comparison python3-libvirt making the calls \`roost ls\` makes (\`bench/baselines/ls.py\`: every domain's
definition, the state of running ones; no parsing, no output), ${RUNS} runs each, interleaved, after two warm-ups;
medians (range in small print).

| domains | \`roost ls --json\` (ms) | \`virsh list --all\` (ms) | roost ÷ virsh | python3-libvirt, the same reads (ms) | roost ÷ python |
|---:|---:|---:|---:|---:|---:|
${levels.map((l) => `| ${l.domains} | ${fmt(l.roostMs)} | ${fmt(l.virshMs)} | ${(median(l.roostMs) / median(l.virshMs)).toFixed(2)}× | ${fmt(l.pythonMs)} | ${(median(l.roostMs) / median(l.pythonMs)).toFixed(2)}× |`).join('\n')}

| measure | roost | virsh | target | met |
|---|---:|---:|---|:---:|
| slope, ms per domain (least squares over the medians) | ${roostFit.slope.toFixed(3)} | ${virshFit.slope.toFixed(3)} | roost ≤ virsh | ${roostFit.slope <= virshFit.slope ? 'yes' : '**no**'} |
| at ${last.domains} domains, roost ÷ virsh | ${lastRatio.toFixed(2)}× | 1.00× | ≤ 1.2× | ${lastRatio <= 1.2 ? 'yes' : '**no**'} |

![roost ls --json and virsh list --all against the number of domains](${svgLink})

\`roost ls\` reads every domain's definition (its ports, networks, accelerator) on one connection, pipelined;
\`virsh list --all\` lists names and states only. The python column is the price of those reads with libvirt's
own C client, one after the other, in a fresh process (slope ${pythonFit.slope.toFixed(3)} ms per domain): the
daemon's work that a listing with ports costs whatever the client.

### RPC at ${last.domains} domains, and a cold client

Rates (ops/s; one op = lookup + getState) and calls/s for listAllDomains; median of ${ROUNDS} rounds, roost ÷ python.
The **cold** row is what a short script gets: a fresh process that imports the built package
(\`bench/cold.mjs\`: \`import { connect } from 'roost'\`) or python3-libvirt, connects and loops for ${COLD_SECONDS} s with
no warm-up.

| benchmark | roost | python3-libvirt | ratio | target | met |
|---|---:|---:|---:|---|:---:|
${ratioRow(`cold ${COLD_SECONDS}-second script, lookup + getState sequential`, 'cold', 'cold', '≥ 1.0×', 1)}
${ratioRow('warmed, lookup + getState sequential', 'seq', 'seq', '≥ 1.0×', 1)}
${ratioRow('warmed, 16 in flight on one connection vs python sequential', 'pipe16', 'seq', '≥ 2.0×', 2)}
${ratioRow(`listAllDomains with ${last.domains} domains (calls/s)`, 'list', 'list', '≥ 1.0×', 1)}
`;
}

const daemon = await startPrivateDaemon('roost-bench-scale');
const guest = tinyGuest(daemon.realUser);
const levels: LevelResult[] = [];
let rpc: CaseResult[] = [];
try {
  let defined = 0;
  for (const n of LEVELS) {
    log(`defining domains up to ${n}`);
    await defineUpTo(daemon.uri, defined, n, guest);
    defined = n;
    log(`timing roost ls --json and virsh list --all at ${n} domains`);
    levels.push(await measureLevel(daemon.user, n));
  }
  rpc = await measureRpc(daemon.user, daemon.uri);
} finally {
  await daemon.stop();
}
const series = [
  { name: 'roost ls --json', points: levels.map((l) => ({ x: l.domains, y: median(l.roostMs) })) },
  { name: 'virsh list --all', points: levels.map((l) => ({ x: l.domains, y: median(l.virshMs) })) },
  { name: 'python, same reads', points: levels.map((l) => ({ x: l.domains, y: median(l.pythonMs) })) },
];
mkdirSync(dirname(SVG), { recursive: true });
writeFileSync(
  SVG,
  lineChartSvg({
    title: 'Listing N defined domains (fresh process)',
    xLabel: 'domains',
    yLabel: 'ms',
    series,
  }),
);
console.log(report(levels, rpc, SVG));
