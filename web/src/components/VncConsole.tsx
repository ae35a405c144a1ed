// The graphical console: noVNC over a WebSocket that roost bridges to the VM's VNC UNIX socket. noVNC is its
// own chunk, imported only here, when the console is opened.
import { useEffect, useRef, useState } from 'preact/hooks';
import { consoleUrl } from '../api.js';

type Status = 'connecting' | 'connected' | 'closed';

export default function VncConsole({ name }: { name: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>('connecting');
  const [note, setNote] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const rfbRef = useRef<import('@novnc/novnc').default | null>(null);

  useEffect(() => {
    let cancelled = false;
    setStatus('connecting');
    setNote(null);
    // The ticket is asked for last: it is good for seconds, and noVNC's chunk may take longer to load.
    void import('@novnc/novnc')
      .then(async ({ default: RFB }) => ({ RFB, url: await consoleUrl(name, 'vnc') }))
      .then(
        ({ RFB, url }) => {
          if (cancelled || !box.current) return;
          const rfb = new RFB(box.current, url, { wsProtocols: ['binary'] });
          rfb.scaleViewport = true;
          rfb.background = '#111418';
          rfb.addEventListener('connect', () => {
            setStatus('connected');
            rfb.focus();
          });
          rfb.addEventListener('disconnect', (e) => {
            setStatus('closed');
            if (!(e as CustomEvent<{ clean: boolean }>).detail.clean)
              setNote('The connection to the VNC console was lost.');
          });
          rfb.addEventListener('securityfailure', (e) =>
            setNote(
              `VNC security failure: ${(e as CustomEvent<{ reason?: string }>).detail.reason ?? 'unknown'}`,
            ),
          );
          rfbRef.current = rfb;
        },
        (e: Error) => {
          if (cancelled) return;
          setStatus('closed');
          setNote(e.message);
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
      <div class="row">
        <span role="status" data-vnc-status={status}>
          {status === 'connected' ? 'Connected' : status === 'connecting' ? 'Connecting…' : 'Disconnected'}
        </span>
        {status === 'connected' && (
          <button type="button" onClick={() => rfbRef.current?.sendCtrlAltDel()}>
            Send Ctrl-Alt-Del
          </button>
        )}
        {status === 'closed' && (
          <button type="button" onClick={() => setAttempt((a) => a + 1)}>
            Reconnect
          </button>
        )}
      </div>
      {note && <p class="error">{note}</p>}
      <div class="vnc" ref={box} data-testid="vnc-screen" aria-label={`Graphical console of ${name}`} />
    </div>
  );
}
