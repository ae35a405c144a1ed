// A dying daemon as the RPC client sees it: a fake transport emits EOF, ECONNRESET, EPIPE (thrown by write or
// emitted during it), close and late errors in every order, and each test checks that the pending calls fail
// with a typed error, nothing is thrown into the transport's event handlers, and no rejection goes unhandled.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallTimeoutError, ConnectionClosedError, ProtocolError } from '../errors.js';
import { procedures } from '../procedures.js';
import { FakeDaemon, duplexPair, replyOk } from '../testing.js';
import { PacketFramer } from './framer.js';
import { MessageType, type Packet } from './packet.js';
import { RpcClient } from './client.js';
import type { Transport } from './transport.js';

const hostname = procedures.CONNECT_GET_HOSTNAME;
const uri = procedures.CONNECT_GET_URI;
const download = procedures.STORAGE_VOL_DOWNLOAD;

/** A transport whose every event a test fires by hand; write() can be made to throw or to emit an error. */
class FakeTransport extends EventEmitter implements Transport {
  readonly written: Packet[] = [];
  destroyed = false;
  onWrite: ((chunk: Buffer) => void) | null = null;
  private readonly framer = new PacketFramer();

  write(chunk: Buffer): boolean {
    this.onWrite?.(chunk);
    this.written.push(...this.framer.push(chunk));
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const econnreset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
const epipe = () => Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });

// Any rejection nobody handled, or exception nobody caught, while a test runs.
const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);
beforeEach(() => {
  escaped.length = 0;
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
afterEach(async () => {
  vi.useRealTimers();
  // Let unhandled rejections be reported before looking.
  await new Promise((r) => setTimeout(r, 10));
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  expect(escaped).toEqual([]);
});

function setup(opts: ConstructorParameters<typeof RpcClient>[1] = {}) {
  const t = new FakeTransport();
  const rpc = new RpcClient(t, opts);
  const call = () => rpc.call(hostname, undefined);
  return { t, rpc, call };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('RpcClient when the daemon dies', () => {
  const orders: [string, (t: FakeTransport) => void][] = [
    ['EOF, then close', (t) => (t.emit('end'), t.emit('close'))],
    ['ECONNRESET, then close', (t) => (t.emit('error', econnreset()), t.emit('close'))],
    ['close, then ECONNRESET', (t) => (t.emit('close'), t.emit('error', econnreset()))],
    [
      'EOF, ECONNRESET, close, ECONNRESET',
      (t) => {
        t.emit('end');
        t.emit('error', econnreset());
        t.emit('close');
        t.emit('error', econnreset());
      },
    ],
    ['close alone', (t) => t.emit('close')],
  ];
  for (const [name, die] of orders) {
    it(`${name}: pending calls reject once with ConnectionClosedError, later calls at once`, async () => {
      const { t, rpc, call } = setup();
      const pending = [call(), call()];
      const closes: Error[] = [];
      rpc.onClose((e) => closes.push(e));
      expect(() => die(t)).not.toThrow();
      for (const p of pending) {
        const err = await rejection(p);
        expect(err).toBeInstanceOf(ConnectionClosedError);
        expect(err).toMatchObject({ code: 'LIBVIRT_CONNECTION_CLOSED' });
      }
      expect(closes).toHaveLength(1);
      expect(t.destroyed).toBe(true);
      expect(await rejection(call())).toBeInstanceOf(ConnectionClosedError);
    });
  }

  it('keeps the transport error as the cause, whatever event came first', async () => {
    const { t, call } = setup();
    const p = call();
    t.emit('error', econnreset());
    t.emit('close');
    const err = await rejection(p);
    expect(err.message).toContain('ECONNRESET');
    expect((err.cause as { code?: string }).code).toBe('ECONNRESET');
  });

  it('a write that throws (EPIPE) rejects that call and the ones pending, without throwing from call()', async () => {
    const { t, call } = setup();
    const first = call();
    await Promise.resolve();
    t.onWrite = () => {
      throw epipe();
    };
    let second!: Promise<unknown>;
    expect(() => (second = call())).not.toThrow();
    for (const p of [first, second]) {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect((err.cause as { code?: string }).code).toBe('EPIPE');
    }
  });

  it('an error emitted during a write (EPIPE, synchronously) rejects the call being written', async () => {
    const { t, call } = setup();
    t.onWrite = () => {
      t.onWrite = null;
      t.emit('error', epipe());
    };
    const err = await rejection(call());
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err.message).toContain('EPIPE');
  });

  it('errors and closes after close() are ignored: no throw, no second failure', async () => {
    const { t, rpc, call } = setup();
    const p = call();
    rpc.close();
    expect(() => {
      t.emit('error', econnreset());
      t.emit('end');
      t.emit('close');
      t.emit('error', epipe());
    }).not.toThrow();
    const err = await rejection(p);
    expect(err.message).toBe('connection closed by the client');
  });

  it('a close listener that throws neither escapes nor stops the other listeners', async () => {
    const { t, rpc, call } = setup();
    const p = call();
    let second = false;
    rpc.onClose(() => {
      throw new Error('listener bug');
    });
    rpc.onClose(() => (second = true));
    expect(() => t.emit('error', econnreset())).not.toThrow();
    expect(second).toBe(true);
    expect(await rejection(p)).toBeInstanceOf(ConnectionClosedError);
  });

  it('keepalive timeout: pending calls reject with ConnectionClosedError naming the missed pings', async () => {
    vi.useFakeTimers();
    const { t, call } = setup({ keepalive: { intervalMs: 100, maxMissed: 2 } });
    const p = rejection(call());
    await vi.advanceTimersByTimeAsync(350);
    const err = await p;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err.message).toContain('did not answer 2 keepalive pings');
    expect(t.destroyed).toBe(true);
    // The dead transport's late events change nothing.
    expect(() => (t.emit('error', econnreset()), t.emit('close'))).not.toThrow();
  });

  it('a stream being opened when the connection dies: openStream rejects, its stream emits no unhandled error', async () => {
    const { t, rpc } = setup();
    const opening = rpc.openStream(download, {
      vol: { pool: 'p', name: 'v', key: 'k' },
      offset: 0n,
      length: 0n,
      flags: 0,
    });
    await new Promise((r) => setImmediate(r));
    t.emit('error', econnreset());
    expect(await rejection(opening)).toBeInstanceOf(ConnectionClosedError);
  });

  it('an open stream fails with ConnectionClosedError when the connection dies', async () => {
    const [clientEnd, daemonEnd] = duplexPair();
    const rpc = new RpcClient(clientEnd);
    const daemon = new FakeDaemon(daemonEnd);
    daemon.handler = (p, d) => {
      if (p.header.type === MessageType.CALL) d.send(replyOk(p.header, download.ret, undefined));
    };
    const stream = await rpc.openStream(download, {
      vol: { pool: 'p', name: 'v', key: 'k' },
      offset: 0n,
      length: 0n,
      flags: 0,
    });
    const failed = new Promise<Error>((resolve) => stream.on('error', resolve));
    clientEnd.emit('error', econnreset());
    expect(await failed).toBeInstanceOf(ConnectionClosedError);
  });
});

describe('RpcClient reply matching', () => {
  it('a reply whose procedure is not the pending call’s fails that call and the connection', async () => {
    const { t, rpc, call } = setup();
    const p = call();
    const other = rpc.call(uri, undefined);
    await new Promise((r) => setImmediate(r));
    const sent = t.written[0]!;
    // The daemon answers serial 1 as if it were CONNECT_GET_URI.
    t.emit('data', replyOk({ ...sent.header, proc: uri.proc }, uri.ret, { uri: 'qemu:///session' }));
    const err = await rejection(p);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: 'PROTOCOL_UNEXPECTED_REPLY' });
    expect(err.message).toContain(`procedure ${hostname.proc}`);
    const next = await rejection(other);
    expect(next).toBeInstanceOf(ConnectionClosedError);
    expect(next.cause).toBe(err);
    expect(rpc.closed).toBe(true);
    expect(t.destroyed).toBe(true);
  });

  it('a reply whose program is not the pending call’s fails it the same way', async () => {
    const { t, rpc, call } = setup();
    const p = call();
    await new Promise((r) => setImmediate(r));
    const sent = t.written[0]!;
    t.emit('data', replyOk({ ...sent.header, prog: 0x11223344 }, hostname.ret, { hostname: 'h' }));
    expect(await rejection(p)).toMatchObject({ code: 'PROTOCOL_UNEXPECTED_REPLY' });
    expect(rpc.closed).toBe(true);
  });

  it('a matching reply still resolves', async () => {
    const { t, call } = setup();
    const p = call();
    await new Promise((r) => setImmediate(r));
    t.emit('data', replyOk(t.written[0]!.header, hostname.ret, { hostname: 'h' }));
    await expect(p).resolves.toEqual({ hostname: 'h' });
  });
});

describe('RpcClient per-call timeout', () => {
  it('rejects an unanswered call with CallTimeoutError and keeps the connection', async () => {
    vi.useFakeTimers();
    const { t, rpc, call } = setup({ callTimeoutMs: 1000 });
    const p = rejection(call());
    await vi.advanceTimersByTimeAsync(999);
    const late = t.written[0]!;
    const q = call();
    await vi.advanceTimersByTimeAsync(2);
    const err = await p;
    expect(err).toBeInstanceOf(CallTimeoutError);
    expect(err).toMatchObject({ code: 'LIBVIRT_CALL_TIMEOUT', timeoutMs: 1000 });
    expect(rpc.closed).toBe(false);
    // The late reply to the timed-out call is dropped; the next call is answered normally.
    t.emit('data', replyOk(late.header, hostname.ret, { hostname: 'late' }));
    t.emit('data', replyOk(t.written[1]!.header, hostname.ret, { hostname: 'h' }));
    await expect(q).resolves.toEqual({ hostname: 'h' });
  });

  it('without callTimeoutMs a call waits as long as the daemon takes', async () => {
    vi.useFakeTimers();
    const { t, call } = setup();
    const p = call();
    await vi.advanceTimersByTimeAsync(3_600_000);
    t.emit('data', replyOk(t.written[0]!.header, hostname.ret, { hostname: 'slow' }));
    await expect(p).resolves.toEqual({ hostname: 'slow' });
  });

  it('streams are exempt: data may pause for longer than the call timeout once the stream is open', async () => {
    vi.useFakeTimers();
    const { t, rpc } = setup({ callTimeoutMs: 1000 });
    const opening = rpc.openStream(download, {
      vol: { pool: 'p', name: 'v', key: 'k' },
      offset: 0n,
      length: 0n,
      flags: 0,
    });
    await vi.advanceTimersByTimeAsync(10);
    t.emit('data', replyOk(t.written[0]!.header, download.ret, undefined));
    const stream = await opening;
    const errors: Error[] = [];
    stream.on('error', (e) => errors.push(e));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors).toEqual([]);
    expect(stream.destroyed).toBe(false);
    stream.destroy();
  });
});
