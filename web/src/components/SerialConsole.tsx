// The serial console: xterm.js over a WebSocket that roost bridges to libvirt's console stream. Its own chunk
// (with xterm's CSS), loaded the first time a serial console is opened. Ctrl-] disconnects, as in `roost console`.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'preact/hooks';
import type { ErrorBody } from '../../../src/shared/api-types.js';
import { ApiError, consoleUrl } from '../api.js';
import { ConsoleStatus, useConsoleState } from './ConsoleStatus.js';
import { asFailure } from './ErrorText.js';

export default function SerialConsole({ name }: { name: string }) {
  const box = useRef<HTMLDivElement>(null);
  const { status, setStatus, attempt, reconnect } = useConsoleState();

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

    setStatus({ state: 'connecting' });
    let ws: WebSocket | null = null;
    let cancelled = false;
    const enc = new TextEncoder();
    const open = (url: string) => {
      const socket = new WebSocket(url);
      ws = socket;
      socket.binaryType = 'arraybuffer';
      // A failure before the console is up comes as one text frame, {error}, before the close.
      let failure: ApiError | null = null;
      socket.onopen = () => {
        setStatus({ state: 'connected' });
        term.focus();
        // A newline wakes the guest's getty/shell up so there is a prompt to look at.
        socket.send(enc.encode('\r'));
      };
      socket.onmessage = (m: MessageEvent<ArrayBuffer | string>) => {
        if (typeof m.data === 'string') {
          const err = (JSON.parse(m.data) as Partial<ErrorBody>).error;
          if (err) failure = new ApiError(0, err.code, err.message, err.hint, err.detail);
        } else term.write(new Uint8Array(m.data));
      };
      socket.onclose = (e) => {
        if (cancelled) return;
        setStatus(failure ? { state: 'error', error: failure } : { state: 'closed', reason: e.reason });
      };
    };
    consoleUrl(name, 'console', attempt > 0 ? { force: '1' } : {}).then(
      (url) => {
        if (!cancelled) open(url);
      },
      (e: unknown) => {
        if (!cancelled) setStatus({ state: 'error', error: asFailure(e) });
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
      <ConsoleStatus
        kind="serial"
        status={status}
        onReconnect={reconnect}
        connectedHint="Ctrl-] disconnects"
      />
      <div
        class="terminal"
        ref={box}
        data-testid="serial-terminal"
        aria-label={`Serial console of ${name}`}
      />
    </div>
  );
}
