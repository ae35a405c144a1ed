// The libvirt RPC packet (src/rpc/virnetprotocol.x): a u32 total length that counts itself, a 24-byte
// header of six 32-bit fields, then the payload. This file knows the layout and the constants only.

import { XdrWriter } from '../xdr/index.js';
import { ProtocolError } from '../errors.js';

export const Program = {
  REMOTE: 0x20008086,
  QEMU: 0x20008087,
  KEEPALIVE: 0x6b656570, // "keep"
} as const;

export const PROTOCOL_VERSION = 1;

export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;

export const MessageStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

export const KeepaliveProc = { PING: 1, PONG: 2 } as const;

/** Largest serialised message the daemon accepts or sends, not counting the length word. */
export const VIR_NET_MESSAGE_MAX = 33554432;
export const LENGTH_SIZE = 4;
export const HEADER_SIZE = 24;
/** Length word + header: the smallest valid packet. */
export const MIN_PACKET = LENGTH_SIZE + HEADER_SIZE;
export const MAX_PACKET = LENGTH_SIZE + VIR_NET_MESSAGE_MAX;

export interface PacketHeader {
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
}

export interface Packet {
  header: PacketHeader;
  /** The bytes after the header; a view into the received chunk, valid until the caller drops it. */
  payload: Buffer;
}

/** Reads the header that starts right after the length word at `offset`. */
export function decodeHeader(buf: Buffer, offset = LENGTH_SIZE): PacketHeader {
  return {
    prog: buf.readUInt32BE(offset),
    vers: buf.readUInt32BE(offset + 4),
    proc: buf.readInt32BE(offset + 8),
    type: buf.readInt32BE(offset + 12),
    serial: buf.readUInt32BE(offset + 16),
    status: buf.readInt32BE(offset + 20),
  };
}

function writeHeader(w: XdrWriter, h: PacketHeader): void {
  w.uint32(0); // length, patched when the payload is known
  w.uint32(h.prog);
  w.uint32(h.vers);
  w.int32(h.proc);
  w.int32(h.type);
  w.uint32(h.serial);
  w.int32(h.status);
}

/**
 * Encodes a whole packet; `body` writes the payload straight after the header into the same buffer,
 * so a call costs one allocation chain and no copy.
 */
export function encodePacket(header: PacketHeader, body?: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(256);
  writeHeader(w, header);
  body?.(w);
  if (w.length > MAX_PACKET) {
    throw new ProtocolError(
      'PROTOCOL_TOO_LARGE',
      `packet of ${w.length} bytes exceeds the daemon's limit of ${MAX_PACKET}`,
    );
  }
  w.patchUint32(0, w.length);
  return w.finish();
}

/** Encodes only the 28-byte prefix of a packet whose raw payload of `payloadLength` bytes follows. */
export function encodePacketPrefix(header: PacketHeader, payloadLength: number): Buffer {
  const w = new XdrWriter(MIN_PACKET);
  writeHeader(w, header);
  w.patchUint32(0, MIN_PACKET + payloadLength);
  return w.finish();
}
