// `npm run bench` (scripts/bench.sh appends its output to BENCHMARKS.md): `roost apply` of a file whose VMs all
// exist as it describes them (the everyday re-apply from a repository), against `roost ls --json` on the same
// session. Target (issue 19): within 2× of `roost ls` — apply reads every VM over one connection, plans, finds
// nothing to do and exits.
//
// Ten tiny-guest VMs (direct kernel boot, 256 MiB, a blank 64 MiB disk, one passt forward each) are made by one
// `roost apply` of the file, then powered off (defined, not running: apply does not start a stopped VM, and no
// guest competes with the timed commands for the CPU), then applied once more so that the file is recorded as
// theirs. The bench fails unless that apply and every timed one report all VMs unchanged. Then `roost apply FILE`
// and `roost ls --json` run interleaved (three warm-ups each, not counted), start to exit. Like every apply of a
// file that parses cleanly, the first one keeps its parse (src/vm/apply-read.ts): the timed applies re-apply the
// unchanged file, which is the case the target is about.
// Parallel creation by apply is measured by bench/parallel.ts.
//
// Usage: tsx bench/apply.ts [--vms 10] [--runs 15]     Markdown to stdout, progress to stderr.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApplyResult } from '../src/shared/declarative.js';
import { tinyGuest, tinyVmDocument } from '../test/harness/fixtures.js';
import { runAs } from '../test/harness/run.js';
import type { TestUser } from '../test/harness/test-user.js';
import { timed } from './cli.js';
import { option } from './options.js';
import { startPrivateDaemon } from './private-daemon.js';

const VMS = Number(option('vms', '10')) || 10;
const RUNS = Number(option('runs', '15')) || 15;
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const log = (m: string) => console.error(`bench apply: ${m}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
const names = Array.from({ length: VMS }, (_, i) => `ap-${String(i).padStart(2, '0')}`);

/** The file: the same VMs as bench/parallel.ts makes, one document each. */
function vmFile(guest: ReturnType<typeof tinyGuest>): string {
  return names
    .map((name, i) => tinyVmDocument(guest, name, { ports: [`127.0.0.1:${22000 + i}:80`] }))
    .join('\n---\n');
}

/** `roost apply FILE --json`, which must find every VM of the file unchanged; throws otherwise. */
async function checkUnchanged(user: TestUser, file: string): Promise<void> {
  const r = await runAs(user, process.execPath, [cli, 'apply', file, '--json'], { check: true });
  const result = JSON.parse(r.stdout) as ApplyResult;
  const moved = result.vms.filter((v) => v.action !== 'unchanged' || v.outcome !== 'as-asked');
  if (result.vms.length !== VMS || moved.length || !result.ok)
    throw new Error(`apply of the unchanged file did something: ${r.stdout}`);
}

/** The timed re-apply: exit 0 and, in its plan, only '=' lines (checked on its output, not timed twice). */
async function timedApply(user: TestUser, file: string): Promise<number> {
  const t0 = performance.now();
  const r = await runAs(user, process.execPath, [cli, 'apply', file], { check: true });
  const ms = performance.now() - t0;
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => /^[+~=-] /.test(l));
  if (lines.length !== VMS || lines.some((l) => !l.startsWith('= ')))
    throw new Error(`apply planned changes: ${r.stdout}${r.stderr}`);
  return ms;
}

const daemon = await startPrivateDaemon('rb-apply'); // short: the guest agent's socket path must fit in 108 bytes
const { user } = daemon;
const guest = tinyGuest(daemon.realUser);
const file = join(user.home, 'vms.yaml');
writeFileSync(file, vmFile(guest), { mode: 0o644 });
const ms = { apply: [] as number[], ls: [] as number[] };
try {
  log(`making ${VMS} VMs with roost apply, then powering them off`);
  await runAs(user, process.execPath, [cli, 'apply', file, '--quiet'], { check: true });
  for (const n of names)
    await runAs(user, process.execPath, [cli, 'stop', n, '--force', '--quiet'], { check: true });
  await checkUnchanged(user, file);
  for (let i = 0; i < 3; i++) {
    await timedApply(user, file);
    await timed(user, process.execPath, [cli, 'ls', '--json']);
  }
  log(`${RUNS} runs each, interleaved`);
  for (let i = 0; i < RUNS; i++) {
    // Alternating which goes first, so that whatever the previous command leaves behind hits both alike.
    if (i % 2 === 0) ms.apply.push(await timedApply(user, file));
    ms.ls.push(await timed(user, process.execPath, [cli, 'ls', '--json']));
    if (i % 2 === 1) ms.apply.push(await timedApply(user, file));
  }
  await checkUnchanged(user, file);
} finally {
  for (const n of names) await runAs(user, process.execPath, [cli, 'rm', '--force', n, '--quiet'], {});
  await daemon.stop();
}

const f = (xs: number[]) =>
  `${median(xs).toFixed(0)} <sub>(${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})</sub>`;
const ratio = median(ms.apply) / median(ms.ls);
process.stdout.write(
  [
    `## Re-applying a file (bench/apply.ts): ${VMS} VMs, all unchanged`,
    '',
    `Median of ${RUNS} runs each, interleaved (range in small print), start to exit, as the unprivileged user on a`,
    `private session daemon with only these ${VMS} VMs defined (powered off). Every timed apply planned \`=\` for`,
    `every VM and changed nothing (checked).`,
    '',
    '| command | time (ms) |',
    '|---|---:|',
    `| \`roost apply vms.yaml\` (${VMS} VMs, all unchanged) | ${f(ms.apply)} |`,
    `| \`roost ls --json\` | ${f(ms.ls)} |`,
    `| ratio apply ÷ ls (target ≤ 2×) | **${ratio.toFixed(2)}×** ${ratio <= 2 ? '✓' : '✗'} |`,
    '',
    `The VMs: the tiny test guest booted directly from its kernel, 256 MiB, 1 vCPU, a blank 64 MiB disk, one passt`,
    `forward each; made by one \`roost apply\` of the same file. Creating them in parallel: bench/parallel.ts.`,
    '',
  ].join('\n'),
);
