// One connect() to a UNIX socket, as libvirt's virNetSocketNewConnectUNIX does it, and the errno questions its
// callers ask.

import type { Transport } from '../rpc/transport.js';
import { connectPipe } from './pipe-socket.js';

/** A connected transport, or why connect() failed (an error with an errno `code`). */
export interface ConnectResult {
  socket?: Transport;
  error?: unknown;
}

/**
 * One connect(); '@name' means a Linux abstract socket, as in libvirt. Two failures are passing states of the
 * daemon, so we try again for up to `busyMs` and only then report them:
 *  - EAGAIN: the listen backlog is full. A non-blocking connect() fails where libvirt's blocking one would wait
 *    for the daemon to accept; we wait too.
 *  - ECONNRESET: the daemon died (killed, crashed, or its --timeout ran out) between our connect() and libuv's
 *    check of it: the kernel resets the connections still waiting in a closing listener's backlog. The socket
 *    file outlives the daemon, so the next connect() says ECONNREFUSED, which autostart cures.
 */
export async function tryConnect(
  path: string,
  busyMs = 5_000,
  connect: (path: string) => Promise<ConnectResult> = connectOnce,
): Promise<ConnectResult> {
  const deadline = Date.now() + busyMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
    const r = await connect(path);
    if (!isPassing(r.error) || Date.now() >= deadline) return r;
    await sleep(pause);
  }
}

function isPassing(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'EAGAIN' || code === 'ECONNRESET';
}

// libuv's pipe handle where this Node offers it (dialers/pipe-socket.ts says why), else net.Socket.
async function connectOnce(path: string): Promise<ConnectResult> {
  const address = path.startsWith('@') ? `\0${path.slice(1)}` : path;
  try {
    const socket = await connectPipe(address);
    if (socket) return { socket };
  } catch (error) {
    return { error };
  }
  const { createConnection } = await import('node:net');
  return new Promise((resolve) => {
    const socket = createConnection({ path: address });
    const onError = (error: unknown) => {
      socket.destroy();
      resolve({ error });
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve({ socket });
    });
  });
}

/** Nobody listens (yet): the only failures a freshly started daemon can cure. */
export function isAbsent(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
