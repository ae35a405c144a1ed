import { describe, expect, it } from 'vitest';
import { type ProcedureName, events, procedures } from './procedures.js';
import { Program } from './rpc/packet.js';
import { type Codec, XdrReader, decode, encode } from './xdr/index.js';

/**
 * A sample value for any codec, without introspecting it: decode a buffer filled with one repeated
 * word. All zeroes gives empty strings and arrays and absent optionals; all ones gives one-element
 * arrays, present optionals and union arm 1, so nested shapes get exercised too.
 */
function sample<T>(codec: Codec<T>, word: number): T {
  const b = Buffer.alloc(1 << 16);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32BE(word, i);
  return codec.decode(new XdrReader(b));
}

describe('procedure table', () => {
  it('every args, ret and event codec round-trips', () => {
    const codecs: [string, Codec<unknown>][] = [
      ...Object.entries(procedures).flatMap(([name, p]): [string, Codec<unknown>][] => [
        [`${name}.args`, p.args as Codec<unknown>],
        [`${name}.ret`, p.ret as Codec<unknown>],
      ]),
      ...Object.entries(events).map(([name, e]): [string, Codec<unknown>] => [name, e.msg as Codec<unknown>]),
    ];
    for (const [name, codec] of codecs) {
      for (const word of [0, 1]) {
        const v = sample(codec, word);
        expect([name, decode(codec, encode(codec, v))]).toEqual([name, v]);
      }
    }
  });

  it('has the procedure numbers of libvirt (docs/protocol.md, Procedures)', () => {
    const expected: Partial<Record<ProcedureName, number>> = {
      CONNECT_OPEN: 1,
      CONNECT_CLOSE: 2,
      CONNECT_GET_URI: 110,
      CONNECT_GET_VERSION: 4,
      CONNECT_GET_LIB_VERSION: 157,
      CONNECT_GET_HOSTNAME: 59,
      CONNECT_GET_CAPABILITIES: 7,
      CONNECT_GET_DOMAIN_CAPABILITIES: 342,
      CONNECT_LIST_ALL_DOMAINS: 273,
      DOMAIN_LOOKUP_BY_NAME: 23,
      DOMAIN_LOOKUP_BY_UUID: 24,
      DOMAIN_DEFINE_XML_FLAGS: 350,
      DOMAIN_UNDEFINE_FLAGS: 231,
      DOMAIN_CREATE_WITH_FLAGS: 196,
      DOMAIN_DESTROY_FLAGS: 234,
      DOMAIN_SHUTDOWN_FLAGS: 258,
      DOMAIN_REBOOT: 27,
      DOMAIN_GET_STATE: 212,
      DOMAIN_GET_INFO: 16,
      DOMAIN_GET_XML_DESC: 14,
      DOMAIN_INTERFACE_ADDRESSES: 353,
      DOMAIN_GET_AUTOSTART: 15,
      DOMAIN_SET_AUTOSTART: 29,
      DOMAIN_OPEN_CONSOLE: 201,
      DOMAIN_SNAPSHOT_CREATE_XML: 185,
      DOMAIN_LIST_ALL_SNAPSHOTS: 274,
      DOMAIN_SNAPSHOT_LOOKUP_BY_NAME: 189,
      DOMAIN_REVERT_TO_SNAPSHOT: 192,
      DOMAIN_SNAPSHOT_DELETE: 193,
      CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 316,
      CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: 317,
      STORAGE_POOL_LOOKUP_BY_NAME: 84,
      CONNECT_LIST_ALL_STORAGE_POOLS: 281,
      STORAGE_POOL_LIST_ALL_VOLUMES: 282,
      STORAGE_POOL_REFRESH: 83,
      STORAGE_VOL_CREATE_XML: 93,
      STORAGE_VOL_LOOKUP_BY_NAME: 95,
      STORAGE_VOL_GET_PATH: 100,
      STORAGE_VOL_DELETE: 94,
      STORAGE_VOL_UPLOAD: 208,
      STORAGE_VOL_DOWNLOAD: 209,
      NETWORK_LOOKUP_BY_NAME: 46,
      NETWORK_GET_DHCP_LEASES: 341,
      CONNECT_SUPPORTS_FEATURE: 60,
      AUTH_LIST: 66,
      AUTH_POLKIT: 70,
      QEMU_DOMAIN_AGENT_COMMAND: 3,
    };
    for (const [name, proc] of Object.entries(expected)) {
      expect([name, procedures[name as ProcedureName].proc]).toEqual([name, proc]);
    }
    expect(procedures.QEMU_DOMAIN_AGENT_COMMAND.prog).toBe(Program.QEMU);
    expect(events.DOMAIN_EVENT_CALLBACK_LIFECYCLE.proc).toBe(318);
    const numbers = Object.values(procedures).map((p) => `${p.prog}:${p.proc}`);
    expect(new Set(numbers).size).toBe(numbers.length);
  });
});
