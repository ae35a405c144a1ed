// roost doctor: checks this host — libvirt, the session daemon, QEMU, passt and whether this libvirt accepts
// it, KVM or TCG, OVMF, and the bridge helper and bridge.conf for --network bridge — and prints the exact
// command that fixes each problem. Exit code 1 when a check fails (warnings alone exit 0).
import type { Command } from '@commander-js/extra-typings';
import type { CheckResult, CheckStatus, DoctorReport } from '../../host/checks/types.js';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('doctor')
    .description('check this host for what roost needs, with the exact fix for each problem')
    .option('--json', 'print JSON: {checks: [{id, title, status, detail, fix?}], ok}')
    .addHelpText(
      'after',
      '\nExamples:\n  roost doctor\n  roost doctor --json | jq \'.checks[] | select(.status != "ok")\'\n\nExit code 1 when a check fails; warnings (TCG, bridge setup) alone exit 0.',
    )
    .action(async (_opts, cmd) =>
      runAction(cmd, async ({ out, globals, context }) => {
        const { runDoctor } = await import('../../host/doctor.js');
        const report = await runDoctor({
          connect: async () => (await context()).client,
          uri: globals.connect,
        });
        out.result(report, () => renderDoctor(report));
        if (!report.ok) process.exitCode = 1;
      }),
    );
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

/** One line per check (mark, title, detail), the fix indented under it, and a summary line. */
export function renderDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${MARK[c.status]} ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.fix && c.status !== 'ok') {
      const [first, ...rest] = c.fix.split('\n');
      lines.push(`    fix: ${first}`);
      for (const l of rest) lines.push(`         ${l}`);
    }
  }
  lines.push('', summary(report.checks));
  return lines.join('\n');
}

function summary(checks: CheckResult[]): string {
  const n = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  const [ok, warn, fail] = [n('ok'), n('warn'), n('fail')];
  const counts = `${ok} ok, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed`;
  if (fail) return `${counts}: roost cannot run VMs here until the failed checks are fixed.`;
  if (warn) return `${counts}: roost can run VMs here; the warnings name what is slow or optional.`;
  return `${counts}: this host is ready.`;
}
