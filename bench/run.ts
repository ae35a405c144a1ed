// `npm run bench` (through scripts/bench.sh): RPC benchmarks of roost's libvirt client against python3-libvirt
// (libvirt's own C client library) on the same daemon in the same run, written to BENCHMARKS.md.
//
// - The daemon is a session daemon of the unprivileged test user, started here with the harness's own code,
//   but with a private HOME and XDG_RUNTIME_DIR: no integration test running at the same time shares it,
//   and its 50 defined domains vanish with the directory.
// - Both clients run as the test user, in processes of their own (bench/rpc.ts, bench/baselines/rpc.py), for
//   ROUNDS rounds that alternate which client goes first; the table shows the median round and the range.
// - `node -e 0` start-up is measured too: the baseline that future CLI rows (`roost ls --json`) compare with.
// - Then the CLI (bench/cli.ts) and boot to ssh (bench/boot-ssh.ts: the Debian guest, BOOT_ROUNDS boots each of
//   roost and virt-install) against the same daemon.
//
// Usage: tsx bench/run.ts [--rounds N] [--seconds S] [--boot-rounds N] [--boot-timeout S] [--out FILE]
//                         [--only PARTS] [--skip PARTS]
// PARTS: comma-separated of rpc (with the start-up baseline), cli, boot-ssh; a skipped part's section is left out.
// An --only run prints its Markdown to stdout instead of overwriting BENCHMARKS.md (unless --out is given);
// progress goes to stderr.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyDomainXml } from '../scripts/lib/tiny-domain-xml.js';
import { connect } from '../src/index.js';
import { debianGuest, tinyGuest } from '../test/harness/fixtures.js';
import { run, spawnOptionsFor } from '../test/harness/run.js';
import type { CaseResult } from './rpc.js';
import { benchCli, cliSection, type CliBenchResult } from './cli.js';
import { BenchInterrupted, benchBootSsh, bootSshSection, type BootSshResult } from './boot-ssh.js';
import { onlySome, option, selected } from './options.js';
import { runJson, startPrivateDaemon } from './private-daemon.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(option('rounds', '5'));
const SECONDS = Number(option('seconds', '1.5'));
// Two: a Debian boot under TCG takes minutes, and the section must keep the whole bench's time in bounds.
const BOOT_ROUNDS = Number(option('boot-rounds', '2'));
/** Where the report goes: BENCHMARKS.md, or stdout ('-') for an --only run unless --out says where. */
const OUT = option('out', onlySome() ? '-' : join(repoRoot, 'BENCHMARKS.md'));
const DOMAINS = 50;
const STARTUP_RUNS = 20;

const log = (msg: string) => console.error(`bench: ${msg}`);

// ---- the daemon ---------------------------------------------------------------------------------------

log('starting a private session daemon as the test user');
const daemon = await startPrivateDaemon('roost-bench');
/** The test user with a private home and runtime dir: its own daemon, config, domains and logs. */
const { user, realUser } = daemon;
const guest = tinyGuest(realUser);
const results: CaseResult[] = [];
let startupMs: number[] = [];
let cliResult: CliBenchResult | undefined;
let bootSsh: BootSshResult | Error | undefined;
let facts: Record<string, string> = {};
try {
  const client = await connect(daemon.uri);
  for (let i = 0; i < DOMAINS; i++) {
    const name = `bench-${String(i).padStart(2, '0')}`;
    await client.defineDomain(
      tinyDomainXml({
        name,
        kernel: guest.kernel,
        initrd: guest.initrd,
        cmdline: guest.cmdline,
        forwards: [],
      }),
    );
  }
  const defined = (await client.listDomains()).length;
  if (defined !== DOMAINS)
    throw new Error(`expected ${DOMAINS} domains on the bench daemon, found ${defined}`);
  facts = await machineFacts(client);
  await client.close();

  if (selected('rpc')) {
    results.push(...(await rpcRounds()));
    startupMs = await nodeStartup();
  }
  if (selected('cli')) {
    log('CLI: roost ls --json and roost create vs virt-install');
    cliResult = await benchCli({ user, repoRoot, guest });
  }
  if (selected('boot-ssh')) {
    log(
      `boot to ssh: ${BOOT_ROUNDS} rounds of roost create --wait ssh and virt-install + ssh (Debian, minutes)`,
    );
    // A Debian boot that fails (a slow machine, a guest that hangs) costs this section, not the others.
    bootSsh = await benchBootSsh({ user, repoRoot, guest: debianGuest(realUser), rounds: BOOT_ROUNDS }).catch(
      (e: unknown) => {
        if (e instanceof BenchInterrupted) throw e;
        process.exitCode = 1;
        log(`boot to ssh FAILED: ${e instanceof Error ? e.message : String(e)}`);
        return e instanceof Error ? e : new Error(String(e));
      },
    );
  }
} finally {
  await daemon.stop();
}

// ---- the report ---------------------------------------------------------------------------------------

const pick = (impl: string, c: string) => results.filter((x) => x.impl === impl && x.case === c);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const rate = (impl: string, c: string) => pick(impl, c).map((x) => x.rate);
const ms = (impl: string, c: string) => pick(impl, c).map((x) => Number(x.extra?.msMedian));
const fmtRate = (xs: number[]) =>
  `${Math.round(median(xs)).toLocaleString('en-US')} <sub>(${Math.round(Math.min(...xs)).toLocaleString('en-US')}–${Math.round(Math.max(...xs)).toLocaleString('en-US')})</sub>`;
const fmtMs = (xs: number[]) =>
  `${median(xs).toFixed(3)} <sub>(${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})</sub>`;

interface Row {
  what: string;
  roost: string;
  python: string;
  ratio: number;
  target: string;
  met: boolean | null;
}
const pySeq = median(rate('python3-libvirt', 'seq'));
const rows: Row[] = [
  {
    what: 'lookup + getState, sequential (ops/s)',
    roost: fmtRate(rate('roost', 'seq')),
    python: fmtRate(rate('python3-libvirt', 'seq')),
    ratio: median(rate('roost', 'seq')) / pySeq,
    target: '≥ 1.0× python',
    met: median(rate('roost', 'seq')) / pySeq >= 1,
  },
  {
    what: 'lookup + getState, 16 in flight on one connection (ops/s) vs python sequential',
    roost: fmtRate(rate('roost', 'pipe16')),
    python: fmtRate(rate('python3-libvirt', 'seq')),
    ratio: median(rate('roost', 'pipe16')) / pySeq,
    target: '≥ 2.0× python',
    met: median(rate('roost', 'pipe16')) / pySeq >= 2,
  },
  {
    what: 'lookup + getState, 16 in flight vs python with 16 threads on one connection (ops/s)',
    roost: fmtRate(rate('roost', 'pipe16')),
    python: fmtRate(rate('python3-libvirt', 'threads16')),
    ratio: median(rate('roost', 'pipe16')) / median(rate('python3-libvirt', 'threads16')),
    target: '— (for information)',
    met: null,
  },
  {
    what: `listAllDomains with ${DOMAINS} defined domains (calls/s)`,
    roost: fmtRate(rate('roost', 'list')),
    python: fmtRate(rate('python3-libvirt', 'list')),
    ratio: median(rate('roost', 'list')) / median(rate('python3-libvirt', 'list')),
    target: '≥ 1.0× python',
    met: median(rate('roost', 'list')) / median(rate('python3-libvirt', 'list')) >= 1,
  },
  {
    what: 'connect + open + close, median latency (ms; ratio = python ÷ roost)',
    roost: fmtMs(ms('roost', 'connect')),
    python: fmtMs(ms('python3-libvirt', 'connect')),
    ratio: median(ms('python3-libvirt', 'connect')) / median(ms('roost', 'connect')),
    target: '≤ python (ratio ≥ 1.0)',
    met: median(ms('roost', 'connect')) <= median(ms('python3-libvirt', 'connect')),
  },
];
const connectMeans = (impl: string) => pick(impl, 'connect').map((x) => Number(x.extra?.msMean));

const rpcMd = `## libvirt RPC: roost's TypeScript client vs python3-libvirt (libvirt's C library)

Median of ${ROUNDS} rounds (range in small print); each round measures each case for ${SECONDS} s after a warm-up,
in a fresh process per client, alternating which client goes first. Ratios are roost ÷ python for rates, and
python ÷ roost for latency, so **above 1.0 means roost is faster** everywhere.

| benchmark | roost | python3-libvirt | ratio | target | met |
|---|---:|---:|---:|---|:---:|
${rows.map((r) => `| ${r.what} | ${r.roost} | ${r.python} | **${r.ratio.toFixed(2)}×** | ${r.target} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |`).join('\n')}

Mean connect + open + close latency (ms), for completeness: roost ${median(connectMeans('roost')).toFixed(3)},
python3-libvirt ${median(connectMeans('python3-libvirt')).toFixed(3)} (means include the slow tail that the
median leaves out).

What each case does:

- **sequential**: \`lookupDomain(name)\` then \`getState(dom)\` (python: \`lookupByName(name).state()\`), one op = both calls,
  one after the other on one connection.
- **16 in flight**: 16 such loops at once on one connection (RPC pipelining; the daemon runs at most 5 calls per
  client at a time, \`max_client_requests\`). python3-libvirt has no pipelining: its sequential rate is the target's
  baseline; its 16-thread rate (the C library lets threads share a connection) is shown for information.
- **listAllDomains**: \`listDomains()\` / \`listAllDomains(0)\` with ${DOMAINS} defined, inactive domains.
- **connect + open + close**: roost \`connect(uri)\` + \`close()\` (dial, AUTH_LIST, CONNECT_OPEN, CONNECT_CLOSE);
  python \`libvirt.open(uri).close()\` (its handshake also asks a few CONNECT_SUPPORTS_FEATURE questions).
  Each connection timed on its own; the row shows the median.

## Process start-up baseline

| command | median (ms) | min–max (ms) | runs |
|---|---:|---:|---:|
| \`node -e 0\` (${facts.node}) | ${median(startupMs).toFixed(1)} | ${Math.min(...startupMs).toFixed(1)}–${Math.max(...startupMs).toFixed(1)} | ${startupMs.length} |

The target for \`roost ls --json\` with 50 domains is within 40 ms of this: see the CLI section.

`;

const md = `# Benchmarks

Written by \`npm run bench\` (scripts/bench.sh → bench/run.ts) on ${facts.date}. Every number comes from this one
run, against one libvirt session daemon of the unprivileged test user, with both clients running as that user.
Do not edit by hand: run the benchmark again.

${results.length ? rpcMd : ''}${cliResult ? cliSection(cliResult) : ''}${bootSsh ? `\n${bootSshText(bootSsh)}` : ''}
## Machine

| | |
|---|---|
| date | ${facts.date} |
| CPU | ${facts.cpu} (${facts.cores} logical cores) |
| memory | ${facts.memory} |
| kernel | ${facts.kernel} |
| libvirt (daemon) | ${facts.libvirt} |
| hypervisor (QEMU) | ${facts.qemu} |
| Node.js | ${facts.node} |
| python3-libvirt | ${facts.python} |
| load average before the run | ${facts.load} |

The numbers are only comparable within one run: a shared or busy machine moves both columns, which is why
each run measures both clients, interleaved, against the same daemon.${
  Number(facts.load?.split(' ')[0]) > Number(facts.cores)
    ? `\n\n**Warning:** the 1-minute load average (${facts.load?.split(' ')[0]}) exceeded the ${facts.cores} cores when this run ` +
      'started: other work competed for the CPU, the ranges are wide, and the ratios are not reliable. Run again on an idle machine.'
    : ''
}

## Reproduce

\`\`\`sh
npm run bench            # = bash scripts/bench.sh: host set-up, build, test user and tiny guest, then bench/run.ts
                         # (it first waits up to 5 minutes for the load average to fall below half the cores)
npx tsx bench/run.ts --rounds 9 --seconds 3   # longer run, as root or as a user with a session daemon
npx tsx bench/run.ts --only boot-ssh          # one part (rpc, cli, boot-ssh): its Markdown on stdout
\`\`\`

One case by hand, against any daemon (as the user who owns it):

\`\`\`sh
node --import tsx bench/rpc.ts 'qemu:///session' SOME-DOMAIN 2 seq pipe16 list connect
/usr/bin/python3 bench/baselines/rpc.py 'qemu:///session' SOME-DOMAIN 2 seq threads16 list connect
\`\`\`
`;
if (OUT === '-') process.stdout.write(md);
else writeFileSync(OUT, md);
log(`wrote ${OUT === '-' ? 'the report to stdout' : OUT}`);
for (const r of results.length ? rows : [])
  log(
    `${r.what}: ${r.ratio.toFixed(2)}× ${r.met === null ? '' : r.met ? '(target met)' : '(TARGET MISSED)'}`,
  );

// ---- helpers ------------------------------------------------------------------------------------------

/** ROUNDS rounds of each RPC client, alternating which goes first. */
async function rpcRounds(): Promise<CaseResult[]> {
  const target = 'bench-00';
  const roost = () =>
    runJson(user, process.execPath, [
      '--import',
      'tsx',
      join(repoRoot, 'bench', 'rpc.ts'),
      daemon.uri,
      target,
      String(SECONDS),
      'seq',
      'pipe16',
      'list',
      'connect',
    ]);
  const python = () =>
    runJson(user, '/usr/bin/python3', [
      join(repoRoot, 'bench', 'baselines', 'rpc.py'),
      daemon.uri,
      target,
      String(SECONDS),
      'seq',
      'threads16',
      'list',
      'connect',
    ]);
  const out: CaseResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [roost, python] : [python, roost];
    for (const f of order) out.push(...(await f()));
    log(`round ${r + 1}/${ROUNDS} done`);
  }
  return out;
}

/** The boot-to-ssh section, or what stopped it. */
function bootSshText(r: BootSshResult | Error): string {
  if (!(r instanceof Error)) return bootSshSection(r);
  // The first line, and not all of it: a failed create's JSON error carries the guest's serial console.
  const why = r.message.split('\n')[0]!;
  return `## Boot to ssh\n\n**Not measured in this run:** ${why.length > 300 ? `${why.slice(0, 300)}…` : why}\n`;
}

/** Wall time of `node -e 0`, as the test user, after a few warm-up runs. */
async function nodeStartup(): Promise<number[]> {
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, ['-e', '0'], { ...spawnOptionsFor(user), stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', () => resolve(performance.now() - t0));
    });
  for (let i = 0; i < 3; i++) await once();
  const out: number[] = [];
  for (let i = 0; i < STARTUP_RUNS; i++) out.push(await once());
  return out;
}

async function machineFacts(client: Awaited<ReturnType<typeof connect>>): Promise<Record<string, string>> {
  const ver = (v: bigint) => {
    const n = Number(v);
    return `${Math.floor(n / 1e6)}.${Math.floor(n / 1e3) % 1000}.${n % 1000}`;
  };
  const py = await run('/usr/bin/python3', ['-c', 'import libvirt; print(libvirt.getVersion())'], {
    check: false,
  });
  const cpuList = cpus();
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: String(cpuList.length),
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel,
    libvirt: ver(await client.libVersion()),
    qemu: ver(await client.version()),
    node: process.version,
    python: py.code === 0 ? `libvirt-python ${ver(BigInt(py.stdout.trim()))}` : 'unavailable',
    load: loadavg,
  };
}
