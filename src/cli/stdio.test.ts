// createFdWriter on real file descriptors: a non-blocking FIFO that fills up (the switch to a stream), a FIFO
// whose reader left (EPIPE), and a closed descriptor.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFdWriter } from './stdio.js';

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'roost-stdio-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A FIFO opened at both ends without blocking: writes fail with EAGAIN once its 64 KiB are full. */
function nonBlockingFifo(): { reader: number; writer: number } {
  const path = join(dir, 'fifo');
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return { reader, writer };
}

describe('createFdWriter', () => {
  it('writes a file synchronously, without making a stream', () => {
    const path = join(dir, 'out');
    const fd = openSync(path, 'w');
    let made = 0;
    const w = createFdWriter(
      fd,
      () => {
        made++;
        return new Socket();
      },
      () => {},
    );
    w.write('héllo\n');
    w.write('world\n');
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe('héllo\nworld\n');
    expect(made).toBe(0);
    expect(w.unflushed()).toBe(false);
  });

  it('hands the rest to a stream when a non-blocking pipe is full, and keeps the order after that', async () => {
    const { reader, writer } = nonBlockingFifo();
    const w = createFdWriter(
      writer,
      () => new Socket({ fd: writer, readable: false, writable: true }),
      () => {},
    );
    const first = 'a'.repeat(300_000);
    w.write(first); // more than the FIFO holds: EAGAIN midway
    expect(w.unflushed()).toBe(true);
    w.write('then this');
    const received: Buffer[] = [];
    const input = new Socket({ fd: reader, readable: true, writable: false });
    input.on('data', (d: Buffer) => received.push(d));
    await new Promise<void>((resolve) => w.stream().once('drain', resolve));
    w.stream().end();
    await new Promise((resolve) => input.on('end', resolve));
    expect(Buffer.concat(received).toString()).toBe(first + 'then this');
  });

  it('calls readerGone once the reader left (EPIPE), then drops further writes', () => {
    const { reader, writer } = nonBlockingFifo();
    closeSync(reader);
    let gone = 0;
    const w = createFdWriter(
      writer,
      () => new Socket(),
      () => gone++,
    );
    w.write('nobody reads this');
    w.write('nor this');
    expect(gone).toBe(1);
    closeSync(writer);
  });

  it('drops writes to a closed descriptor without throwing', () => {
    const fd = 40_000; // far above anything open here (a closed fd's number could be reused meanwhile)
    let gone = 0;
    const w = createFdWriter(
      fd,
      () => new Socket(),
      () => gone++,
    );
    expect(() => w.write('into the void')).not.toThrow();
    expect(gone).toBe(0);
  });
});
