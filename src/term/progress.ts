// Download progress for `roost image pull` and `roost create --image NAME`: a bar with bytes, rate and ETA on a
// terminal; one line per phase elsewhere (logs, CI); JSON lines for machines; nothing with --quiet.
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import type { PullEvent, PullProgress } from '../images/types.js';
import { formatBytes } from './bytes.js';

export { formatBytes };

export type ProgressMode = 'auto' | 'json' | 'none';

function formatEta(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * A PullProgress that renders events on `stream` (stderr: stdout stays for the result). In 'json' mode each
 * event is one JSON object per line.
 */
export function createPullProgress(
  mode: ProgressMode,
  stream: NodeJS.WriteStream = process.stderr,
): PullProgress {
  if (mode === 'none') return () => {};
  if (mode === 'json') return (ev) => stream.write(JSON.stringify(ev) + '\n');
  const tty = stream.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  const line = (text: string) => {
    stopBar();
    stream.write(text + '\n');
  };
  return (ev: PullEvent) => {
    switch (ev.type) {
      case 'start': {
        const from = ev.resumeFrom ? ` (resuming at ${formatBytes(ev.resumeFrom)})` : '';
        if (!tty || ev.total === undefined) {
          line(
            `${pc.cyan('·')} ${ev.url.startsWith('upload:') ? 'uploading' : 'downloading'} ${ev.image}${ev.total !== undefined ? `, ${formatBytes(ev.total)}` : ''}${from}`,
          );
          return;
        }
        stopBar();
        bar = new cliProgress.SingleBar(
          {
            stream,
            hideCursor: true,
            barsize: 30,
            format: (_opts, params, payload: { rate: string; eta: string }) => {
              const pct = Math.floor(params.progress * 100);
              const bars = Math.round(params.progress * 30);
              return `${ev.image} [${'█'.repeat(bars)}${'░'.repeat(30 - bars)}] ${String(pct).padStart(3)}% ${formatBytes(params.value)}/${formatBytes(params.total)} ${payload.rate} ETA ${payload.eta}`;
            },
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(ev.total, ev.resumeFrom, { rate: '', eta: '--:--' });
        return;
      }
      case 'progress':
        bar?.update(ev.received, { rate: `${formatBytes(ev.rate)}/s`, eta: formatEta(ev.eta) });
        return;
      case 'retry':
        line(
          `${pc.yellow('!')} ${ev.image}: ${ev.reason}; retrying (attempt ${ev.attempt}) from ${formatBytes(ev.resumeFrom)}`,
        );
        return;
      case 'waiting':
        line(`${pc.cyan('·')} waiting for roost process ${ev.pid}, which is downloading ${ev.image}`);
        return;
      case 'verify':
        stopBar();
        return;
      case 'decompress':
        line(`${pc.cyan('·')} decompressing ${ev.image} (${ev.compression})`);
        return;
      case 'done':
        stopBar();
        return;
    }
  };
}
