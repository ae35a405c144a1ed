// The serial console: xterm.js over a WebSocket that roost bridges to libvirt's console stream. Its own chunk
// (with xterm's CSS), loaded the first time a serial console is opened. Ctrl-] disconnects, as in `roost console`.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { consoleUrl } from '../api.js';

type Status = 'connecting' | 'connected' | 'closed';

export default function SerialConsole({ name }: { name: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>('connecting');
  const [note, setNote] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const term = new Terminal({
      convertEol: false,
      cursorBlink: true,
      fontSize: 14,
      scrollback: 5000,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      theme: { background: '#111418' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current!);
    fit.fit();
    const onResize = () => fit.fit();
    window.addEventListener('resize', onResize);

    setStatus('connecting');
    setNote(null);
    let ws: WebSocket | null = null;
    let cancelled = false;
    const enc = new TextEncoder();
    const open = (url: string) => {
      const socket = new WebSocket(url);
      ws = socket;
      socket.binaryType = 'arraybuffer';
      socket.onopen = () => {
        setStatus('connected');
        term.focus();
        // A newline wakes the guest's getty/shell up so there is a prompt to look at.
        socket.send(enc.encode('\r'));
      };
      socket.onmessage = (m: MessageEvent<ArrayBuffer | string>) => {
        if (typeof m.data === 'string') {
          const err = (JSON.parse(m.data) as { error?: { message?: string } }).error;
          if (err?.message) setNote(err.message);
        } else term.write(new Uint8Array(m.data));
      };
      socket.onclose = (e) => {
        setStatus('closed');
        // Keep the error frame's message if one came; else the close reason.
        if (e.reason) setNote((n) => n ?? e.reason);
      };
    };
    consoleUrl(name, 'console', attempt > 0 ? { force: '1' } : {}).then(
      (url) => {
        if (!cancelled) open(url);
      },
      (e: Error) => {
        if (cancelled) return;
        setStatus('closed');
        setNote(e.message);
      },
    );
    const sub = term.onData((d) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(enc.encode(d));
    });
    return () => {
      cancelled = true;
      sub.dispose();
      ws?.close();
      window.removeEventListener('resize', onResize);
      term.dispose();
    };
  }, [name, attempt]);

  return (
    <div class="console">
      <div class="row">
        <span role="status" data-console-status={status}>
          {status === 'connected'
            ? 'Connected — Ctrl-] disconnects'
            : status === 'connecting'
              ? 'Connecting…'
              : 'Disconnected'}
        </span>
        {status === 'closed' && (
          <button type="button" onClick={() => setAttempt((a) => a + 1)}>
            Reconnect
          </button>
        )}
      </div>
      {note && <p class="error">{note}</p>}
      <div
        class="terminal"
        ref={box}
        data-testid="serial-terminal"
        aria-label={`Serial console of ${name}`}
      />
    </div>
  );
}
