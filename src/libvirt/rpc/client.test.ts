import { EventEmitter, once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError, LibvirtError, ProtocolError } from '../errors.js';
import { procedures } from '../procedures.js';
import {
  FakeDaemon,
  duplexPair,
  errorValue,
  header,
  packet,
  replyError,
  replyOk,
  streamPacket,
} from '../testing.js';
import { parseUuid, remoteError } from '../types.js';
import { decode, encode, int, struct } from '../xdr/index.js';
import { RpcClient } from './client.js';
import { KeepaliveProc, MessageStatus, MessageType, Program } from './packet.js';
import { STREAM_CHUNK_MAX } from './stream.js';
import type { Transport } from './transport.js';

const uuid = parseUuid('8f0e6b8c3b2a4c1d9e8f0123456789ab');
const lookup = procedures.DOMAIN_LOOKUP_BY_NAME;
const download = procedures.STORAGE_VOL_DOWNLOAD;
const upload = procedures.STORAGE_VOL_UPLOAD;
const vol = { pool: 'p', name: 'v', key: '/k/v' };

function setup(opts: ConstructorParameters<typeof RpcClient>[1] = {}) {
  const [clientEnd, daemonEnd] = duplexPair();
  const rpc = new RpcClient(clientEnd, opts);
  const daemon = new FakeDaemon(daemonEnd);
  const lookupCall = (name: string) => rpc.call(lookup, { name });
  return { rpc, daemon, clientEnd, lookupCall };
}

describe('RpcClient calls', () => {
  it('pipelines calls and matches replies that come back in any order', async () => {
    const { daemon, lookupCall } = setup();
    const names = ['a', 'b', 'c', 'd'];
    const results = names.map(lookupCall);
    const calls = await Promise.all(names.map(() => daemon.next()));
    expect(calls.map((c) => c.header.serial)).toEqual([1, 2, 3, 4]);
    expect(calls.every((c) => c.header.type === MessageType.CALL && c.header.proc === 23)).toBe(true);
    for (const c of [calls[2]!, calls[0]!, calls[3]!, calls[1]!]) {
      const { name } = decode(lookup.args, c.payload);
      daemon.send(replyOk(c.header, lookup.ret, { dom: { name, uuid, id: c.header.serial } }));
    }
    const doms = await Promise.all(results);
    expect(doms.map((r) => [r.dom.name, r.dom.id])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ]);
  });

  it('turns REPLY/ERROR into LibvirtError with the daemon code', async () => {
    const { daemon, lookupCall } = setup();
    const result = lookupCall('missing');
    const c = await daemon.next();
    daemon.send(replyError(c.header, errorValue(42, "Domain not found: 'missing'", 20)));
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ code: 'LIBVIRT_ERROR', virErrorCode: 42, virErrorDomain: 20 });
    expect((err as LibvirtError).isNotFound()).toBe(true);
  });

  it('rejects a reply that does not decode as the procedure type with PROTOCOL_DECODE', async () => {
    const { daemon, lookupCall } = setup();
    const result = lookupCall('x');
    const c = await daemon.next();
    daemon.send(packet({ ...c.header, type: MessageType.REPLY }, Buffer.from([0, 0, 0])));
    await expect(result).rejects.toMatchObject({ code: 'PROTOCOL_DECODE' });
  });

  it('rejects arguments that cannot be encoded without sending anything', async () => {
    const { rpc, daemon } = setup();
    const call = rpc.call(lookup, { name: 5 as unknown as string });
    await expect(call).rejects.toMatchObject({ code: 'XDR_RANGE' });
    expect(daemon.received).toHaveLength(0);
  });

  it('fails every pending call at once when the connection closes, and later calls immediately', async () => {
    const { rpc, daemon, lookupCall } = setup();
    const closed: unknown[] = [];
    rpc.onClose((e) => closed.push(e));
    const pending = ['a', 'b', 'c'].map(lookupCall);
    await daemon.next();
    daemon.close();
    const results = await Promise.allSettled(pending);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConnectionClosedError);
    }
    expect(rpc.closed).toBe(true);
    expect(closed).toHaveLength(1);
    await expect(lookupCall('late')).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('closes the connection on malformed framing, keeping the ProtocolError as cause', async () => {
    const { daemon, lookupCall } = setup();
    const result = lookupCall('a');
    await daemon.next();
    daemon.send(Buffer.from([0, 0, 0, 5]));
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).cause).toBeInstanceOf(ProtocolError);
    expect((err as Error).cause).toMatchObject({ code: 'PROTOCOL_BAD_LENGTH' });
  });

  it('ignores replies for serials it does not know', async () => {
    const { daemon, lookupCall } = setup();
    const result = lookupCall('a');
    const c = await daemon.next();
    daemon.send(replyOk({ ...c.header, serial: 999 }, lookup.ret, { dom: { name: 'x', uuid, id: 1 } }));
    daemon.send(replyOk(c.header, lookup.ret, { dom: { name: 'a', uuid, id: 1 } }));
    expect((await result).dom.name).toBe('a');
  });
});

describe('RpcClient writes', () => {
  /** A transport that logs what the client does with it, by serial; replies are fed in by the test. */
  function loggingTransport() {
    const log: string[] = [];
    const t = Object.assign(new EventEmitter(), {
      write: (b: Buffer) => log.push(`write ${b.readUInt32BE(20)}`) > 0,
      cork: () => void log.push('cork'),
      uncork: () => void log.push('uncork'),
      pause() {
        return this;
      },
      resume() {
        return this;
      },
      destroy() {
        return this;
      },
    });
    return { log, t: t as unknown as Transport & EventEmitter };
  }

  it('writes a lone call at once, and gathers calls made while others wait into one batch per tick', async () => {
    const { log, t } = loggingTransport();
    const rpc = new RpcClient(t);
    const call = (name: string) => rpc.call(lookup, { name });
    const first = call('a');
    // Before the tick ends: a sequential caller's call is on its way as soon as it is made.
    expect(log).toEqual(['write 1']);
    const more = [call('b'), call('c')];
    expect(log).toEqual(['write 1', 'cork', 'write 2', 'write 3']);
    await new Promise((r) => process.nextTick(r));
    expect(log).toEqual(['write 1', 'cork', 'write 2', 'write 3', 'uncork']);
    // Once every reply is in, the next call is alone again.
    for (const serial of [1, 2, 3]) {
      t.emit(
        'data',
        replyOk(header({ proc: 23, type: MessageType.CALL, serial }), lookup.ret, {
          dom: { name: 'x', uuid, id: serial },
        }),
      );
    }
    await Promise.all([first, ...more]);
    log.length = 0;
    const last = call('d');
    expect(log).toEqual(['write 4']);
    rpc.close();
    await expect(last).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});

describe('RpcClient events and keepalive', () => {
  it('routes MESSAGE packets by (prog, proc), even when their serial equals a pending call', async () => {
    const { rpc, daemon, lookupCall } = setup();
    const msg = struct({ callbackID: int });
    const got: number[] = [];
    const off = rpc.subscribe({ prog: Program.REMOTE, proc: 318 }, (payload) =>
      got.push(decode(msg, payload).callbackID),
    );
    const result = lookupCall('a');
    const c = await daemon.next(); // serial 1, like the daemon's events
    daemon.send(
      packet(header({ proc: 318, type: MessageType.MESSAGE, serial: 1 }), encode(msg, { callbackID: 7 })),
    );
    daemon.send(
      packet(header({ proc: 319, type: MessageType.MESSAGE, serial: 1 }), encode(msg, { callbackID: 8 })),
    );
    daemon.send(replyOk(c.header, lookup.ret, { dom: { name: 'a', uuid, id: 1 } }));
    await result;
    expect(got).toEqual([7]);
    off();
    daemon.send(
      packet(header({ proc: 318, type: MessageType.MESSAGE, serial: 1 }), encode(msg, { callbackID: 9 })),
    );
    await new Promise((r) => setImmediate(r)); // let the event be processed
    expect(got).toEqual([7]);
  });

  it('answers PING with PONG', async () => {
    const { daemon } = setup();
    daemon.send(
      packet(
        header({ prog: Program.KEEPALIVE, proc: KeepaliveProc.PING, type: MessageType.MESSAGE, serial: 0 }),
      ),
    );
    const pong = await daemon.next();
    expect(pong.header).toEqual({
      prog: Program.KEEPALIVE,
      vers: 1,
      proc: KeepaliveProc.PONG,
      type: MessageType.MESSAGE,
      serial: 0,
      status: MessageStatus.OK,
    });
    expect(pong.payload.length).toBe(0);
  });

  it('probes a silent daemon with PINGs and closes after too many go unanswered', async () => {
    const { rpc, daemon, lookupCall } = setup({ keepalive: { intervalMs: 20, maxMissed: 2 } });
    const result = lookupCall('a');
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toMatch(/keepalive/);
    const pings = daemon.received.filter((p) => p.header.prog === Program.KEEPALIVE);
    expect(pings.length).toBe(2);
    expect(pings.every((p) => p.header.proc === KeepaliveProc.PING)).toBe(true);
    expect(rpc.closed).toBe(true);
  });

  it('stays up while the daemon answers PINGs', async () => {
    const { rpc, daemon } = setup({ keepalive: { intervalMs: 10, maxMissed: 1 } });
    daemon.handler = (p, d) => {
      if (p.header.prog === Program.KEEPALIVE && p.header.proc === KeepaliveProc.PING) {
        d.send(packet({ ...p.header, proc: KeepaliveProc.PONG }));
      }
    };
    await new Promise((r) => setTimeout(r, 120));
    expect(rpc.closed).toBe(false);
    expect(daemon.received.length).toBeGreaterThan(2);
    rpc.close();
  });
});

describe('RpcClient streams', () => {
  const args = { vol, offset: 0n, length: 0n, flags: 0 };

  it('download: data right behind the reply, end of data, then the finish handshake', async () => {
    const { rpc, daemon } = setup();
    const opening = rpc.openStream(download, args);
    const c = await daemon.next();
    // Reply and first data in a single chunk: nothing may be lost.
    daemon.send(
      Buffer.concat([
        replyOk(c.header, download.ret, undefined),
        streamPacket(c.header, MessageStatus.CONTINUE, Buffer.from('hello ')),
      ]),
    );
    const stream = await opening;
    daemon.send(streamPacket(c.header, MessageStatus.CONTINUE, Buffer.from('world')));
    daemon.send(streamPacket(c.header, MessageStatus.CONTINUE)); // end of data
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello world');
    const finish = await daemon.next();
    expect(finish.header).toMatchObject({
      type: MessageType.STREAM,
      status: MessageStatus.OK,
      serial: c.header.serial,
    });
    expect(finish.header.proc).toBe(download.proc);
    daemon.send(streamPacket(c.header, MessageStatus.OK));
    if (!stream.destroyed) await once(stream, 'close');
  });

  it('upload: chunks of at most 256 KiB, then STREAM/OK answered by the daemon', async () => {
    const { rpc, daemon } = setup();
    const opening = rpc.openStream(upload, args);
    const c = await daemon.next();
    daemon.send(replyOk(c.header, upload.ret, undefined));
    const stream = await opening;
    const data = Buffer.alloc(STREAM_CHUNK_MAX * 2 + 1000, 7);
    const finished = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    daemon.handler = (p, d) => {
      if (p.header.status === MessageStatus.OK && p.header.type === MessageType.STREAM) {
        d.send(streamPacket(c.header, MessageStatus.OK));
      }
    };
    stream.end(data);
    await finished;
    const sent = daemon.received.filter((p) => p.header.type === MessageType.STREAM);
    const dataPackets = sent.filter((p) => p.header.status === MessageStatus.CONTINUE);
    expect(
      dataPackets.every((p) => p.payload.length <= STREAM_CHUNK_MAX && p.payload.length <= 256 * 1024),
    ).toBe(true);
    expect(Buffer.concat(dataPackets.map((p) => p.payload)).equals(data)).toBe(true);
    expect(sent.at(-1)!.header.status).toBe(MessageStatus.OK);
  });

  it('a server STREAM/ERROR fails the stream with LibvirtError', async () => {
    const { rpc, daemon } = setup();
    const opening = rpc.openStream(download, args);
    const c = await daemon.next();
    daemon.send(replyOk(c.header, download.ret, undefined));
    const stream = await opening;
    const failed = once(stream, 'error');
    stream.resume();
    daemon.send(
      streamPacket(
        c.header,
        MessageStatus.ERROR,
        encode(remoteError, errorValue(38, 'cannot read volume', 18)),
      ),
    );
    const [err] = await failed;
    expect(err).toBeInstanceOf(LibvirtError);
    expect(err).toMatchObject({ virErrorCode: 38, message: 'cannot read volume' });
  });

  it('a failed opening call rejects and leaves no stream behind', async () => {
    const { rpc, daemon } = setup();
    const opening = rpc.openStream(download, args);
    const c = await daemon.next();
    daemon.send(replyError(c.header, errorValue(50, 'no volume')));
    await expect(opening).rejects.toMatchObject({ virErrorCode: 50 });
    daemon.send(streamPacket(c.header, MessageStatus.CONTINUE, Buffer.from('stray'))); // ignored
  });

  it('abort sends an empty STREAM/ERROR', async () => {
    const { rpc, daemon } = setup();
    const opening = rpc.openStream(upload, args);
    const c = await daemon.next();
    daemon.send(replyOk(c.header, upload.ret, undefined));
    const stream = await opening;
    stream.write(Buffer.from('partial'));
    stream.abort();
    await once(stream, 'close');
    const last = daemon.received.at(-1)!;
    expect(last.header).toMatchObject({
      type: MessageType.STREAM,
      status: MessageStatus.ERROR,
      serial: c.header.serial,
    });
    expect(last.payload.length).toBe(0);
  });

  it('refuses to open a stream on a procedure that carries none, sending nothing', async () => {
    const { rpc, clientEnd } = setup();
    const written: Buffer[] = [];
    clientEnd.on('data', (b: Buffer) => written.push(b));
    await expect(rpc.openStream(lookup, { name: 'a' })).rejects.toThrow(TypeError);
    await new Promise((r) => setImmediate(r));
    expect(written).toEqual([]);
  });

  it('console: both directions on one serial; a hang-up ends it', async () => {
    const { rpc, daemon } = setup();
    const con = procedures.DOMAIN_OPEN_CONSOLE;
    const opening = rpc.openStream(con, { dom: { name: 'vm', uuid, id: 1 }, dev_name: null, flags: 0 });
    const c = await daemon.next();
    daemon.send(replyOk(c.header, con.ret, undefined));
    const stream = await opening;
    stream.write('ls\n');
    const input = await daemon.next();
    expect(input.header).toMatchObject({ type: MessageType.STREAM, status: MessageStatus.CONTINUE });
    expect(input.payload.toString()).toBe('ls\n');
    daemon.send(streamPacket(c.header, MessageStatus.CONTINUE, Buffer.from('bin etc\n')));
    const [out] = await once(stream, 'data');
    expect(out.toString()).toBe('bin etc\n');
    daemon.send(streamPacket(c.header, MessageStatus.CONTINUE)); // hang-up
    const finish = await daemon.next();
    expect(finish.header.status).toBe(MessageStatus.OK);
    daemon.send(streamPacket(c.header, MessageStatus.OK));
    await once(stream, 'close');
  });

  it('a connection that dies under the opening call rejects it, with no stray stream error', async () => {
    const { rpc, daemon } = setup();
    const opening = rpc.openStream(download, args);
    await daemon.next();
    daemon.close();
    await expect(opening).rejects.toBeInstanceOf(ConnectionClosedError);
    await new Promise((r) => setTimeout(r, 5)); // an unhandled 'error' would surface here
  });

  it('reading a download to the end sends STREAM/OK and no abort', async () => {
    const { rpc, daemon } = setup();
    const opening = rpc.openStream(download, args);
    const c = await daemon.next();
    daemon.send(replyOk(c.header, download.ret, undefined));
    const stream = await opening;
    daemon.send(streamPacket(c.header, MessageStatus.CONTINUE, Buffer.from('x')));
    daemon.send(streamPacket(c.header, MessageStatus.CONTINUE));
    for await (const _ of stream) void _; // the iterator destroys the stream when done
    await new Promise((r) => setTimeout(r, 5));
    const sent = daemon.received.filter((p) => p.header.type === MessageType.STREAM);
    expect(sent.map((p) => p.header.status)).toEqual([MessageStatus.OK]);
  });

  it('open streams fail with ConnectionClosedError when the connection dies', async () => {
    const { rpc, daemon } = setup();
    const opening = rpc.openStream(download, args);
    const c = await daemon.next();
    daemon.send(replyOk(c.header, download.ret, undefined));
    const stream = await opening;
    const failed = once(stream, 'error');
    daemon.close();
    const [err] = await failed;
    expect(err).toBeInstanceOf(ConnectionClosedError);
  });

  it('pauses the connection while a stream reader lags, and resumes when it reads', async () => {
    const { rpc, daemon, clientEnd } = setup();
    const opening = rpc.openStream(download, args);
    const c = await daemon.next();
    daemon.send(replyOk(c.header, download.ret, undefined));
    const stream = await opening;
    const chunk = Buffer.alloc(STREAM_CHUNK_MAX, 1);
    for (let i = 0; i < 8; i++) daemon.send(streamPacket(c.header, MessageStatus.CONTINUE, chunk));
    await new Promise((r) => setImmediate(r));
    expect(clientEnd.isPaused()).toBe(true);
    daemon.send(streamPacket(c.header, MessageStatus.CONTINUE));
    let total = 0;
    for await (const b of stream) total += (b as Buffer).length;
    expect(total).toBe(8 * STREAM_CHUNK_MAX);
    expect(clientEnd.isPaused()).toBe(false);
  });
});
