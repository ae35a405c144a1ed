// roost top: every running VM's CPU, memory, disk and network use, from one libvirt call per refresh. On a
// terminal the table redraws in place until q or Ctrl-C; piped, or with --once or --json, it prints one refresh.
import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import type { LibvirtClient } from '../../libvirt/api.js';
import type { StatsSnapshot, StatsSort } from '../../vm/stats.js';
import { runAction } from '../action.js';
import { writeStdout } from '../stdio.js';

/** Seconds between refreshes: a positive number, at most an hour. */
export function parseInterval(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0.1 || n > 3600)
    throw new InvalidArgumentError('give seconds between 0.1 and 3600, e.g. --interval 2');
  return n;
}

export function define(program: Command): void {
  program
    .command('top')
    .description('show CPU, memory, disk and network use of every running VM, refreshed live')
    .option('--once', 'print one refresh and exit (what a pipe gets too)')
    .option('--json', 'print one refresh as JSON: an array of VmStats (see docs/cli-json.md)')
    .addOption(
      new Option('--sort <key>', 'order rows by')
        .choices(['cpu', 'mem', 'name'] as const)
        .default('cpu' as const),
    )
    .addOption(
      new Option('--interval <seconds>', 'seconds between refreshes (and between the two samples of --once)')
        .argParser(parseInterval)
        .default(2),
    )
    .addHelpText(
      'after',
      `
CPU is the share of one host CPU (200% = two busy host CPUs). MEM is the resident memory of the VM's QEMU
process on the host (RSS) against its configured maximum; GUEST USED is what the guest itself reports through
its balloon driver (- when it reports nothing). Rates are over the interval between two samples.
Examples:
  roost top
  roost top --once --sort mem
  roost top --once --json | jq -r '.[] | "\\(.name) \\(.cpuPercent)"'`,
    )
    .action(async (opts, cmd) =>
      runAction(cmd, async ({ out, context }) => {
        const [stats, view, ctx] = await Promise.all([
          import('../../vm/stats.js'),
          import('../stats-view.js'),
          context(),
        ]);
        const intervalMs = opts.interval * 1000;
        if (opts.once || out.json || !process.stdout.isTTY || !process.stdin.isTTY) {
          const rows = stats.sortStats(await stats.sampleTwice(ctx.client, intervalMs), opts.sort);
          return out.result(rows, () => view.renderStatsTable(rows));
        }
        await liveTop(ctx.client, intervalMs, opts.sort);
      }),
    );
}

// q, Q, Ctrl-C (ETX) and Ctrl-D (EOT) as raw bytes.
const QUIT_KEYS = [0x71, 0x51, 0x03, 0x04];
const CLEAR = '\x1b[H\x1b[2J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/** Redraws the table in place every interval until q, Ctrl-C or the connection fails; the terminal is restored. */
async function liveTop(client: LibvirtClient, intervalMs: number, sort: StatsSort): Promise<void> {
  const [{ takeSnapshot, statsBetween, sortStats }, { renderStatsTable }] = await Promise.all([
    import('../../vm/stats.js'),
    import('../stats-view.js'),
  ]);
  const quit = keyPressQuit();
  writeStdout(HIDE_CURSOR);
  try {
    let prev: StatsSnapshot | undefined;
    let timer: NodeJS.Timeout | undefined;
    while (!quit.done) {
      const cur = await takeSnapshot(client);
      const rows = sortStats(statsBetween(prev, cur), sort);
      writeStdout(`${CLEAR}roost top — every ${intervalMs / 1000}s, sorted by ${sort}; q to quit\n\n`);
      writeStdout(renderStatsTable(rows) + '\n');
      prev = cur;
      await Promise.race([new Promise((r) => (timer = setTimeout(r, intervalMs))), quit.pressed]);
      clearTimeout(timer);
    }
  } finally {
    quit.release();
    writeStdout(SHOW_CURSOR);
  }
}

/** Raw keyboard input: q, Q, Ctrl-C or Ctrl-D resolve `pressed` (raw mode turns Ctrl-C into a key, not SIGINT). */
function keyPressQuit(): { pressed: Promise<void>; readonly done: boolean; release(): void } {
  const stdin = process.stdin;
  let done = false;
  let onData: (b: Buffer) => void = () => {};
  const pressed = new Promise<void>((resolve) => {
    onData = (b: Buffer) => {
      if (b.some((c) => QUIT_KEYS.includes(c))) {
        done = true;
        resolve();
      }
    };
  });
  stdin.setRawMode(true);
  stdin.on('data', onData).resume();
  return {
    pressed,
    get done() {
      return done;
    },
    release() {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}
