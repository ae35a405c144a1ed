// The meter of roost cp where scp draws none (the guest agent route, and -r): one line on a terminal, redrawn in
// place — name, bar, bytes, rate, time — left standing once the file is done; elsewhere (a log, CI) one line per
// file when it is done, and never a stream of updates. The CLI gives --quiet and --json no meter at all.
import cliProgress from 'cli-progress';
import type { CopyEvent } from '../vm/copy.js';
import { safeTextForTerminal } from './sanitize.js';
import { formatBytes } from './bytes.js';

const BAR = 24;

/** One line for the meter: a bar once the size and some progress are known, else what is known and the time. */
export function meterLine(label: string, done: number, size: number | undefined, elapsedMs: number): string {
  const secs = `${(elapsedMs / 1000).toFixed(0)} s`;
  const rate = elapsedMs > 0 && done > 0 ? ` ${formatBytes(Math.round((done * 1000) / elapsedMs))}/s` : '';
  if (size === undefined || size === 0 || done === 0) {
    const amount = done > 0 ? formatBytes(done) : size ? formatBytes(size) : '';
    return `${label} ${amount}${rate} ${secs}`.replace(/ +/g, ' ');
  }
  const part = Math.min(1, done / size);
  const bars = Math.round(part * BAR);
  const pct = String(Math.floor(part * 100)).padStart(3);
  return `${label} [${'█'.repeat(bars)}${'░'.repeat(BAR - bars)}] ${pct}% ${formatBytes(done)}/${formatBytes(size)}${rate} ${secs}`;
}

/**
 * Renders copy events on `stream` when it is a terminal (stderr: stdout stays for the result); else `line` prints
 * each file once it is done.
 */
export function createCopyMeter(
  stream: NodeJS.WriteStream | undefined,
  line: (text: string) => void,
): (ev: CopyEvent) => void {
  let bar: cliProgress.SingleBar | undefined;
  let current: { label: string; size: number | undefined; started: number; done: number } | undefined;
  return (ev) => {
    if (ev.type === 'file') {
      current = { label: safeTextForTerminal(ev.label), size: ev.size, started: Date.now(), done: 0 };
      if (!stream?.isTTY) return;
      const file = current;
      bar = new cliProgress.SingleBar({
        stream,
        hideCursor: true,
        format: () => meterLine(file.label, file.done, file.size, Date.now() - file.started),
      });
      bar.start(ev.size ?? 0, 0);
      return;
    }
    if (ev.type === 'bytes') {
      if (current) current.done = ev.done;
      bar?.update(ev.done);
      return;
    }
    if (bar) {
      bar.stop();
      bar = undefined;
    } else if (current) line(current.label);
    current = undefined;
  };
}
