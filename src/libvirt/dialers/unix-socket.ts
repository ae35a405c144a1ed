// One connect() to a UNIX socket, as libvirt's virNetSocketNewConnectUNIX does it, and the errno questions its
// callers ask.

import type { Transport } from '../rpc/transport.js';
import { connectPipe } from './pipe-socket.js';

/**
 * One connect(); '@name' means a Linux abstract socket, as in libvirt. A non-blocking connect() to a UNIX
 * socket whose listen backlog is full fails with EAGAIN where libvirt's blocking connect() would wait for
 * the daemon to accept: we wait too, retrying for up to `busyMs`.
 */
export async function tryConnect(
  path: string,
  busyMs = 5_000,
): Promise<{ socket?: Transport; error?: unknown }> {
  const deadline = Date.now() + busyMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
    const r = await connectOnce(path);
    if (errnoOf(r.error) !== 'EAGAIN' || Date.now() >= deadline) return r;
    await sleep(pause);
  }
}

// libuv's pipe handle where this Node offers it (dialers/pipe-socket.ts says why), else net.Socket.
async function connectOnce(path: string): Promise<{ socket?: Transport; error?: unknown }> {
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
