// The graphical console: noVNC over a WebSocket that roost bridges to the VM's VNC UNIX socket. noVNC is its
// own chunk, imported only here, when the console is opened.
import { useEffect, useRef } from 'preact/hooks';
import { consoleUrl } from '../api.js';
import { ConsoleStatus, useConsoleState } from './ConsoleStatus.js';
import { asFailure } from './ErrorText.js';

export default function VncConsole({ name }: { name: string }) {
  const box = useRef<HTMLDivElement>(null);
  const { status, setStatus, attempt, reconnect } = useConsoleState();
  const rfbRef = useRef<import('@novnc/novnc').default | null>(null);

  useEffect(() => {
    let cancelled = false;
    setStatus({ state: 'connecting' });
    // The ticket is asked for last: it is good for seconds, and noVNC's chunk may take longer to load.
    void import('@novnc/novnc')
      .then(async ({ default: RFB }) => ({ RFB, url: await consoleUrl(name, 'vnc') }))
      .then(
        ({ RFB, url }) => {
          if (cancelled || !box.current) return;
          const rfb = new RFB(box.current, url, { wsProtocols: ['binary'] });
          rfb.scaleViewport = true;
          rfb.background = '#111418';
          // A security failure is followed by a disconnect: that one must not hide it.
          let failure: string | null = null;
          rfb.addEventListener('connect', () => {
            setStatus({ state: 'connected' });
            rfb.focus();
          });
          rfb.addEventListener('disconnect', (e) => {
            if (cancelled) return;
            const clean = (e as CustomEvent<{ clean: boolean }>).detail.clean;
            if (failure) setStatus({ state: 'error', error: failure });
            else if (clean) setStatus({ state: 'closed' });
            else setStatus({ state: 'error', error: 'The connection to the VNC console was lost.' });
          });
          rfb.addEventListener('securityfailure', (e) => {
            failure = `VNC security failure: ${(e as CustomEvent<{ reason?: string }>).detail.reason ?? 'unknown'}`;
          });
          rfbRef.current = rfb;
        },
        (e: unknown) => {
          if (!cancelled) setStatus({ state: 'error', error: asFailure(e) });
        },
      );
    return () => {
      cancelled = true;
      rfbRef.current?.disconnect();
      rfbRef.current = null;
    };
  }, [name, attempt]);

  return (
    <div class="console">
      <ConsoleStatus kind="vnc" status={status} onReconnect={reconnect}>
        <button type="button" onClick={() => rfbRef.current?.sendCtrlAltDel()}>
          Send Ctrl-Alt-Del
        </button>
      </ConsoleStatus>
      <div class="vnc" ref={box} data-testid="vnc-screen" aria-label={`Graphical console of ${name}`} />
    </div>
  );
}
