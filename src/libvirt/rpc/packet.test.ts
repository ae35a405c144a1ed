import { describe, expect, it } from 'vitest';
import { procedures } from '../procedures.js';
import { remoteError } from '../types.js';
import { errorValue, header, replyError } from '../testing.js';
import { decode, encode } from '../xdr/index.js';
import { MessageStatus, MessageType, Program, decodeHeader, encodePacket } from './packet.js';

/** Big-endian u32 words, for spelling packets out the way docs/protocol.md does. */
function words(...ws: number[]): Buffer {
  const b = Buffer.alloc(ws.length * 4);
  ws.forEach((w, i) => b.writeUInt32BE(w >>> 0, i * 4));
  return b;
}

/** An XDR string spelled out: length word, bytes, zero padding. */
function xdrString(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([words(bytes.length), bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
}

describe('packet', () => {
  it('encodes CONNECT_OPEN("qemu:///session") exactly as the example in docs/protocol.md, Framing', () => {
    const p = procedures.CONNECT_OPEN;
    const bytes = encodePacket(
      { prog: p.prog, vers: 1, proc: p.proc, type: MessageType.CALL, serial: 1, status: MessageStatus.OK },
      (w) => p.args.encode(w, { name: 'qemu:///session', flags: 0 }),
    );
    const golden = Buffer.concat([
      words(0x38), // total length 56
      words(0x20008086, 1, 1, 0, 1, 0), // prog REMOTE, vers, proc 1, CALL, serial 1, OK
      words(1), // remote_string present
      xdrString('qemu:///session'), // 0000000f + 15 bytes + 1 byte padding
      words(0), // flags
    ]);
    expect(bytes.length).toBe(56);
    expect(bytes.toString('hex')).toBe(golden.toString('hex'));
  });

  it('encodes a REPLY/ERROR carrying remote_error byte for byte', () => {
    const call = header({ proc: 23, type: MessageType.CALL, serial: 7 });
    const bytes = replyError(call, errorValue(42, 'no dom', 10));
    const body = Buffer.concat([
      words(42, 10), // code NO_DOMAIN, domain QEMU
      words(1),
      xdrString('no dom'), // message
      words(2), // level ERROR
      words(0), // dom absent
      words(1),
      xdrString('no dom'), // str1
      words(0, 0), // str2, str3 absent
      words(0xffffffff, 0xffffffff), // int1, int2 = -1
      words(0), // net absent
    ]);
    const golden = Buffer.concat([words(28 + body.length, Program.REMOTE, 1, 23, 1, 7, 1), body]);
    expect(bytes.toString('hex')).toBe(golden.toString('hex'));
    expect(decode(remoteError, bytes.subarray(28))).toEqual(errorValue(42, 'no dom', 10));
  });

  it('decodes the header fields with their signedness', () => {
    const bytes = encodePacket({
      prog: Program.KEEPALIVE,
      vers: 1,
      proc: -1,
      type: 2,
      serial: 0xfffffffe,
      status: 2,
    });
    expect(bytes.length).toBe(28);
    expect(decodeHeader(bytes)).toEqual({
      prog: 0x6b656570,
      vers: 1,
      proc: -1,
      type: 2,
      serial: 0xfffffffe,
      status: 2,
    });
  });

  it('refuses to encode a packet larger than the daemon accepts', () => {
    const big = Buffer.alloc(33554432);
    expect(() =>
      encodePacket(header({ proc: 1, type: MessageType.STREAM, serial: 1 }), (w) =>
        w.opaqueFixed(big, big.length),
      ),
    ).toThrow(expect.objectContaining({ code: 'PROTOCOL_TOO_LARGE' }));
    expect(encode(remoteError, errorValue(1, 'x')).length % 4).toBe(0);
  });
});
