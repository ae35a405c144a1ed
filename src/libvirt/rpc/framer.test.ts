import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { events, procedures } from '../procedures.js';
import { errorValue, header, packet, replyError, replyOk, streamPacket } from '../testing.js';
import { nonnullDomain, parseUuid, remoteError } from '../types.js';
import { type Codec, XdrError, decode, encode, struct } from '../xdr/index.js';
import { PacketFramer } from './framer.js';
import { KeepaliveProc, MessageStatus, MessageType, type Packet, Program } from './packet.js';

const dom = { name: 'vm1', uuid: parseUuid('8f0e6b8c3b2a4c1d9e8f0123456789ab'), id: 3 };
const call = (proc: number, serial: number) => header({ proc, type: MessageType.CALL, serial });

/** A stream of packets like a daemon's: replies, an error, an event, keepalive, stream data. */
function fixtures(): Buffer[] {
  return [
    replyOk(call(23, 1), procedures.DOMAIN_LOOKUP_BY_NAME.ret, { dom }),
    replyError(call(23, 2), errorValue(42, 'Domain not found')),
    packet(
      header({ proc: 318, type: MessageType.MESSAGE, serial: 1 }),
      encode(events.DOMAIN_EVENT_CALLBACK_LIFECYCLE.msg, { callbackID: 1, dom, event: 2, detail: 0 }),
    ),
    packet(
      header({ prog: Program.KEEPALIVE, proc: KeepaliveProc.PING, type: MessageType.MESSAGE, serial: 0 }),
    ),
    streamPacket(call(209, 3), MessageStatus.CONTINUE, Buffer.from('some volume bytes!')),
    streamPacket(call(209, 3), MessageStatus.CONTINUE),
    replyOk(call(212, 4), procedures.DOMAIN_GET_STATE.ret, { state: 1, reason: 1 }),
  ];
}

function describePackets(ps: Packet[]): string[] {
  return ps.map((p) => `${JSON.stringify(p.header)}:${p.payload.toString('hex')}`);
}

describe('PacketFramer', () => {
  const parts = fixtures();
  const whole = Buffer.concat(parts);

  it('parses a stream holding several packets in one chunk', () => {
    const ps = new PacketFramer().push(whole);
    expect(ps).toHaveLength(parts.length);
    expect(decode(procedures.DOMAIN_LOOKUP_BY_NAME.ret, ps[0]!.payload)).toEqual({ dom });
    expect(decode(remoteError, ps[1]!.payload).code).toBe(42);
    expect(ps[4]!.payload.toString()).toBe('some volume bytes!');
    expect(ps[5]!.payload.length).toBe(0);
  });

  it('gives the same packets when the stream is split at every offset', () => {
    const expected = describePackets(new PacketFramer().push(whole));
    for (let cut = 0; cut <= whole.length; cut++) {
      const f = new PacketFramer();
      const got = [...f.push(whole.subarray(0, cut)), ...f.push(whole.subarray(cut))];
      expect(describePackets(got)).toEqual(expected);
      expect(f.pendingBytes).toBe(0);
    }
  });

  it('gives the same packets when split at every pair of offsets, and fed a byte at a time', () => {
    const expected = describePackets(new PacketFramer().push(whole));
    const sample = whole.subarray(0, 120); // pairs over the first packets keep this quick
    const sampleExpected = describePackets(new PacketFramer().push(sample));
    for (let a = 0; a <= sample.length; a++) {
      for (let b = a; b <= sample.length; b++) {
        const f = new PacketFramer();
        const got = [
          ...f.push(sample.subarray(0, a)),
          ...f.push(sample.subarray(a, b)),
          ...f.push(sample.subarray(b)),
        ];
        expect(describePackets(got)).toEqual(sampleExpected);
      }
    }
    const f = new PacketFramer();
    const got: Packet[] = [];
    for (let i = 0; i < whole.length; i++) got.push(...f.push(whole.subarray(i, i + 1)));
    expect(describePackets(got)).toEqual(expected);
  });

  it('rejects lengths below 28 or above the maximum with a typed error, and stays failed', () => {
    for (const len of [0, 4, 27, 4 + 33554432 + 1, 0xffffffff]) {
      const f = new PacketFramer();
      const b = Buffer.alloc(4);
      b.writeUInt32BE(len);
      expect(() => f.push(b)).toThrow(expect.objectContaining({ code: 'PROTOCOL_BAD_LENGTH' }));
      expect(() => f.push(whole)).toThrow(ProtocolError);
      expect(f.pendingBytes).toBe(0);
    }
  });

  it('rejects a bad length as soon as its four bytes are in, without waiting for the body', () => {
    const f = new PacketFramer(1024);
    expect(f.push(Buffer.from([0, 0]))).toEqual([]);
    expect(() => f.push(Buffer.from([0x10, 0]))).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_BAD_LENGTH' }),
    );
  });
});

/** Deterministic PRNG (mulberry32) so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz: framer + decoders on mutated and random bytes', () => {
  it('100 000 inputs produce only packets or typed errors, without hanging or hoarding memory', () => {
    const rand = prng(0x5eed);
    const int = (n: number) => Math.floor(rand() * n);
    const seeds = fixtures();
    const decoders: Codec<unknown>[] = [
      remoteError,
      events.DOMAIN_EVENT_CALLBACK_LIFECYCLE.msg,
      struct({ dom: nonnullDomain }),
      ...Object.values(procedures).flatMap((p) => [p.args as Codec<unknown>, p.ret as Codec<unknown>]),
    ];
    const maxPacket = 64 * 1024; // a small bound makes "bounded memory" checkable
    let packets = 0;
    let decoded = 0;
    let typedErrors = 0;

    for (let i = 0; i < 100_000; i++) {
      let input: Buffer;
      const kind = int(4);
      if (kind === 0) {
        input = Buffer.from(Array.from({ length: int(200) }, () => int(256)));
      } else {
        input = Buffer.from(seeds[int(seeds.length)]!);
        const flips = 1 + int(6);
        for (let k = 0; k < flips && input.length > 0; k++) input[int(input.length)] = int(256);
        if (kind === 2) input = input.subarray(0, int(input.length + 1));
        if (kind === 3 && input.length >= 4) input.writeUInt32BE(28 + int(input.length * 2), 0);
      }
      const f = new PacketFramer(maxPacket);
      try {
        for (let off = 0; off < input.length;) {
          const n = 1 + int(input.length);
          for (const p of f.push(input.subarray(off, off + n))) {
            packets++;
            const codec = decoders[int(decoders.length)]!;
            try {
              decode(codec, p.payload);
              decoded++;
            } catch (err) {
              if (!(err instanceof XdrError)) throw err;
              typedErrors++;
            }
          }
          off += n;
          if (f.pendingBytes > maxPacket + input.length)
            throw new Error(`framer holds ${f.pendingBytes} bytes`);
        }
      } catch (err) {
        if (!(err instanceof ProtocolError || err instanceof XdrError)) throw err;
        typedErrors++;
      }
    }
    expect(packets).toBeGreaterThan(10_000);
    expect(decoded + typedErrors).toBeGreaterThan(10_000);
  }, 60_000); // a loaded host can stretch it past vitest's default timeout; a hang still fails
});
