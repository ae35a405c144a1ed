// A phase line for long work: "· creating disk…" becomes "✓ creating disk (0.2 s)" when the next phase starts.
// On a terminal the running phase is redrawn in place; elsewhere (logs, CI) each finished phase is one line.
import pc from 'picocolors';

export interface PhaseReporter {
  phase(label: string): void;
  done(summary?: string): void;
  fail(): void;
}

export function createPhaseReporter(
  stream: NodeJS.WriteStream = process.stderr,
  enabled = true,
): PhaseReporter {
  let current: { label: string; started: number } | undefined;
  const tty = stream.isTTY === true;
  const close = (mark: string) => {
    if (!current) return;
    const secs = ((Date.now() - current.started) / 1000).toFixed(1);
    const line = `${mark} ${current.label} ${pc.dim(`(${secs} s)`)}`;
    stream.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    current = undefined;
  };
  if (!enabled) return { phase: () => {}, done: () => {}, fail: () => {} };
  return {
    phase(label) {
      close(pc.green('✓'));
      current = { label, started: Date.now() };
      if (tty) stream.write(`${pc.cyan('·')} ${label}…`);
    },
    done(summary) {
      close(pc.green('✓'));
      if (summary) stream.write(`${summary}\n`);
    },
    fail() {
      close(pc.red('✗'));
    },
  };
}
