// The consoles as WebSockets (binary frames both ways):
//
// - /api/vms/:name/console — the serial console, through the same use case as `roost console`
//   (attachConsole over libvirt's console stream, so it works over ssh:// connections too). Ctrl-] ends it,
//   as in the terminal. `?force=1` takes the console over from another client.
// - /api/vms/:name/vnc — the graphical console: raw RFB to the VNC UNIX socket roost gives each VM (read from
//   the live domain XML), for noVNC in the page. QEMU made that socket as the user; we run as the user.
//
// A failure before the bridge is up is sent as one text frame {error:{code,message}}, then close code 4000+HTTP
// status (4404 no such VM, 4409 not running or busy).
import { connect as netConnect } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { RoostError } from '../../errors.js';
import { ESCAPE_BYTE } from '../../vm/console.js';
import type { AppDeps } from '../deps.js';
import { toApiError } from '../http-errors.js';
import { schemas } from '../validate.js';

/** Past this much unsent data the browser is not reading: drop the connection rather than buffer forever. */
const MAX_BUFFERED = 8 * 1024 * 1024;

function fail(socket: WebSocket, err: unknown): void {
  const { status, body } = toApiError(err);
  if (socket.readyState !== socket.OPEN) return;
  socket.send(JSON.stringify(body));
  socket.close(4000 + (status < 1000 ? status : 500), body.error.code.slice(0, 100));
}

const toBuffer = (data: Buffer | ArrayBuffer | Buffer[]): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

export function registerConsoleRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/api/vms/:name/console', { websocket: true }, (socket, req) =>
    serveSerialConsole(socket, req, deps),
  );
  app.get('/api/vms/:name/vnc', { websocket: true }, (socket, req) => serveVnc(socket, req, deps));
}

/** The serial console over a WebSocket, through attachConsole as `roost console` does. */
async function serveSerialConsole(socket: WebSocket, req: FastifyRequest, deps: AppDeps): Promise<void> {
  // Frames that arrive while the console opens are kept in `input` (a PassThrough buffers until read).
  const input = new PassThrough();
  let closed = false;
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => input.write(toBuffer(data)));
  socket.on('close', () => {
    closed = true;
    // The escape byte is how attachConsole is told to let go (it then closes the libvirt stream).
    input.write(Buffer.from([ESCAPE_BYTE]));
  });
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (socket.readyState === socket.OPEN) {
        if (socket.bufferedAmount > MAX_BUFFERED) socket.terminate();
        else socket.send(chunk, { binary: true });
      }
      done();
    },
  });
  try {
    const s = await schemas();
    const { name } = s.NameParams.parse(req.params);
    const { force } = s.ConsoleQuery.parse(req.query);
    const { attachConsole } = await import('../../vm/console.js');
    const why = await attachConsole(await deps.context(), name, {
      input,
      output,
      force,
    });
    if (!closed) socket.close(1000, why === 'escape' ? 'left the console' : 'console closed');
  } catch (err) {
    fail(socket, err);
  }
}

/** The VNC console: raw RFB between the WebSocket and the VM's VNC UNIX socket. */
async function serveVnc(socket: WebSocket, req: FastifyRequest, deps: AppDeps): Promise<void> {
  let vm: { vncSocket: string | null; state: string; name: string };
  const early: Buffer[] = [];
  const keep = (d: Buffer | ArrayBuffer | Buffer[]) => early.push(toBuffer(d));
  socket.on('message', keep);
  try {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const { vmDetails } = await import('../../vm/details.js');
    vm = await vmDetails(await deps.context(), name);
    if (vm.state !== 'running' && vm.state !== 'paused') {
      throw new RoostError('VM_NOT_RUNNING', `VM '${name}' is not running`, { hint: 'start it first' });
    }
    if (!vm.vncSocket) {
      throw new RoostError('NO_VNC_SOCKET', `VM '${name}' has no VNC console on a UNIX socket`, {
        hint: 'VMs made by roost create have one; for others add <graphics type="vnc" socket="…"/>',
      });
    }
  } catch (err) {
    return fail(socket, err);
  }
  if (socket.readyState !== socket.OPEN) return;
  const vnc = netConnect(vm.vncSocket);
  socket.off('message', keep);
  for (const b of early) vnc.write(b);
  let inFlight = 0;
  vnc.on('data', (b: Buffer) => {
    if (socket.readyState !== socket.OPEN) return;
    inFlight++;
    if (inFlight > 32) vnc.pause();
    socket.send(b, { binary: true }, () => {
      inFlight--;
      if (inFlight <= 8 && vnc.isPaused()) vnc.resume();
    });
  });
  socket.on('message', (d: Buffer | ArrayBuffer | Buffer[]) => vnc.write(toBuffer(d)));
  socket.on('close', () => vnc.destroy());
  vnc.on('error', (err) =>
    fail(
      socket,
      new RoostError('VNC_UNREACHABLE', `cannot reach the VNC console of '${vm.name}': ${err.message}`),
    ),
  );
  vnc.on('close', () => {
    if (socket.readyState === socket.OPEN) socket.close(1000, 'VNC console closed');
  });
}
