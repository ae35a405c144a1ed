// One TCP connection joined to a pair of streams: what ssh's ProxyCommand runs (`roost ssh NAME --proxy`), so that
// `ssh NAME.roost` reaches a bridged VM whose address is only known when roost looks it up.
import { connect } from 'node:net';
import { RoostError } from '../errors.js';

/** Connects to host:port, copies `input` to it and it to `output`; resolves when the connection ends. */
export function pipeTcp(
  host: string,
  port: number,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      input.pipe(socket);
      socket.pipe(output);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (connected) {
        socket.destroy();
        reject(e);
        return;
      }
      reject(
        new RoostError('PROXY_CONNECT_FAILED', `cannot connect to ${host}:${port}: ${e.code ?? e.message}`, {
          hint: 'is the VM running, and its sshd up? roost ip NAME shows the address roost found',
          cause: e,
        }),
      );
    });
    // The remote end is done: ssh reads the rest and closes its side; stop reading our input so the process can exit.
    socket.once('close', () => {
      input.unpipe(socket);
      if ('pause' in input && typeof input.pause === 'function') input.pause();
      if (connected) resolve();
    });
  });
}
