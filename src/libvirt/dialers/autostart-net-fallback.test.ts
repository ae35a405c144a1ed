// On a Node without a usable pipe handle (pipe-socket.ts answers undefined), connections are plain
// net.Sockets with the same behaviour: this file stands in such a Node by making connectPipe answer so.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectWithAutostart } from './autostart.js';
import { DaemonUnavailableError } from '../errors.js';

vi.mock('./pipe-socket.js', () => ({ connectPipe: () => Promise.resolve(undefined) }));

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'roost-netfb-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('connectWithAutostart without the pipe handle', () => {
  it('connects with net.Socket', async () => {
    const path = join(dir, 'sock');
    const server = createServer((c) => c.end('hello'));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const socket = await connectWithAutostart(path, { autostart: false });
      expect(socket).toBeInstanceOf(Socket);
      const greeting = await new Promise<string>((resolve) => socket.on('data', (d) => resolve(String(d))));
      expect(greeting).toBe('hello');
      socket.destroy();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports nobody listening as it does with the pipe handle', async () => {
    const err = await connectWithAutostart(join(dir, 'none'), { autostart: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonUnavailableError);
    expect((err as DaemonUnavailableError).reason).toBe('autostart-disabled');
    expect((err as Error).message).toContain('ENOENT');
  });
});
