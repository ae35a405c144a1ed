// How a console session ended, told apart: the daemon went away (error, the VM may still run), the VM stopped,
// or the VM runs on and libvirt closed our stream (another client took it).
import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../libvirt/api.js';
import { ConnectionClosedError } from '../libvirt/errors.js';
import { roostPaths } from '../paths.js';
import { ESCAPE_BYTE, attachConsole } from './console.js';
import type { VmContext } from './context.js';

/** A console stream the test ends by hand. */
function consoleStream(): Duplex {
  return new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
}

function fake(active: (() => Promise<boolean>)[]) {
  const stream = consoleStream();
  const dom = { name: 'web', uuid: Buffer.alloc(16), id: 3 };
  let asked = 0;
  const client = {
    lookupDomain: () => Promise.resolve(dom),
    // The first answer is the check before attaching; the rest are asked after the stream closed.
    isActive: () => (active[Math.min(asked++, active.length - 1)] ?? (() => Promise.resolve(true)))(),
    openConsole: () => Promise.resolve(stream),
  };
  const ctx = {
    client: client as unknown as LibvirtClient,
    uri: 'qemu:///session',
    paths: roostPaths({ HOME: '/nonexistent/roost-test-home' }),
    env: {},
    close: () => Promise.resolve(),
  } as VmContext;
  const io = { input: new PassThrough(), output: new PassThrough() };
  return { ctx, stream, io };
}

const yes = () => Promise.resolve(true);
const no = () => Promise.resolve(false);

describe('attachConsole endings', () => {
  it('the daemon going away fails with DAEMON_GONE, saying the VM may still run', async () => {
    const { ctx, stream, io } = fake([yes]);
    const attached = attachConsole(ctx, 'web', io);
    await new Promise((r) => setImmediate(r));
    stream.destroy(new ConnectionClosedError('connection to the libvirt daemon failed: read ECONNRESET'));
    const err = await attached.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'DAEMON_GONE', exitCode: 1 });
    expect((err as Error).message).toContain('the libvirt session daemon went away');
    expect((err as Error).message).toContain('the VM may still be running');
    expect((err as { hint: string }).hint).toContain('roost ls');
  });

  it('a VM that stopped ends it as "stopped"', async () => {
    const { ctx, stream, io } = fake([yes, no]);
    const attached = attachConsole(ctx, 'web', io);
    await new Promise((r) => setImmediate(r));
    stream.push(null);
    await expect(attached).resolves.toBe('stopped');
  });

  it('a VM that takes a moment to be reported shut off still counts as stopped', async () => {
    const { ctx, stream, io } = fake([yes, yes, yes, no]);
    const attached = attachConsole(ctx, 'web', io);
    await new Promise((r) => setImmediate(r));
    stream.push(null);
    await expect(attached).resolves.toBe('stopped');
  });

  it('a VM that runs on after libvirt closed the stream: another client took the console', async () => {
    const { ctx, stream, io } = fake([yes]);
    const attached = attachConsole(ctx, 'web', io);
    await new Promise((r) => setImmediate(r));
    stream.destroy();
    await expect(attached).resolves.toBe('taken');
  }, 10_000);

  it('the daemon gone by the time we ask about the VM is DAEMON_GONE too', async () => {
    const { ctx, stream, io } = fake([yes, () => Promise.reject(new ConnectionClosedError())]);
    const attached = attachConsole(ctx, 'web', io);
    await new Promise((r) => setImmediate(r));
    stream.push(null);
    await expect(attached).rejects.toMatchObject({ code: 'DAEMON_GONE' });
  });

  it('Ctrl-] is "escape"', async () => {
    const { ctx, io } = fake([yes]);
    const attached = attachConsole(ctx, 'web', io);
    await new Promise((r) => setImmediate(r));
    io.input.write(Buffer.from([ESCAPE_BYTE]));
    await expect(attached).resolves.toBe('escape');
  });
});
