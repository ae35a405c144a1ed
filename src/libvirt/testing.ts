// Test support for the libvirt client: an in-memory duplex pair and a scripted fake daemon that speaks
// the wire protocol. Used by the unit tests beside the code; not part of roost's public API.

import { Duplex } from 'node:stream';
import { PacketFramer } from './rpc/framer.js';
import {
  MessageStatus,
  MessageType,
  type Packet,
  type PacketHeader,
  PROTOCOL_VERSION,
  Program,
  encodePacketPrefix,
} from './rpc/packet.js';
import { openClient, type LibvirtClient } from './api.js';
import { events, procedures } from './procedures.js';
import { LifecycleEventType, type RemoteError, type TypedParam, remoteError } from './types.js';
import { type Codec, decode, encode } from './xdr/index.js';

class PairEnd extends Duplex {
  peer!: PairEnd;

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.peer.push(chunk);
    cb();
  }

  override _read(): void {}

  override _final(cb: (err?: Error | null) => void): void {
    this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    cb(err);
  }
}

/** Two connected in-memory ends: bytes written to one are read from the other. */
export function duplexPair(opts: { highWaterMark?: number } = {}): [Duplex, Duplex] {
  const a = new PairEnd({ highWaterMark: opts.highWaterMark });
  const b = new PairEnd({ highWaterMark: opts.highWaterMark });
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export function header(
  h: Partial<PacketHeader> & Pick<PacketHeader, 'proc' | 'type' | 'serial'>,
): PacketHeader {
  return { prog: Program.REMOTE, vers: PROTOCOL_VERSION, status: MessageStatus.OK, ...h };
}

/** A packet with a raw payload (not padded: stream data is raw bytes). */
export function packet(h: PacketHeader, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodePacketPrefix(h, payload.length), payload]);
}

export function replyOk<T>(call: PacketHeader, codec: Codec<T>, value: T): Buffer {
  return packet({ ...call, type: MessageType.REPLY, status: MessageStatus.OK }, encode(codec, value));
}

export function errorValue(code: number, message: string, domain = 10): RemoteError {
  return {
    code,
    domain,
    message,
    level: 2,
    dom: null,
    str1: message,
    str2: null,
    str3: null,
    int1: -1,
    int2: -1,
    net: null,
  };
}

export function replyError(call: PacketHeader, err: RemoteError): Buffer {
  return packet({ ...call, type: MessageType.REPLY, status: MessageStatus.ERROR }, encode(remoteError, err));
}

export function streamPacket(call: PacketHeader, status: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return packet({ ...call, type: MessageType.STREAM, status }, payload);
}

/**
 * The daemon's end of a duplex pair: parses what the client writes and lets a test answer it.
 * `handler`, when set, is called for every packet received (to answer calls automatically).
 */
export class FakeDaemon {
  readonly received: Packet[] = [];
  handler: ((p: Packet, d: FakeDaemon) => void) | null = null;
  private readonly framer = new PacketFramer();
  private waiters: ((p: Packet) => void)[] = [];
  private cursor = 0;

  constructor(readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.framer.push(chunk)) {
        // Copy the payload: the chunk it points into belongs to the transport.
        const copy = { header: p.header, payload: Buffer.from(p.payload) };
        this.received.push(copy);
        this.handler?.(copy, this);
        const w = this.waiters.shift();
        if (w) {
          this.cursor++;
          w(copy);
        }
      }
    });
    socket.on('error', () => {});
  }

  /** The next packet the client sends that no earlier next() returned. */
  next(): Promise<Packet> {
    if (this.cursor < this.received.length) return Promise.resolve(this.received[this.cursor++]!);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

// --- a fake session daemon with state ---------------------------------------------------------------------------

/** libvirt's error numbers and domains the fake answers with (virerror.h). */
const VIR_ERR = {
  NO_SUPPORT: 3,
  OPERATION_FAILED: 9,
  NO_DOMAIN: 42,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
};
const VIR_ERR_OPERATION_INVALID = 55;
const VIR_ERR_STORAGE_VOL_EXIST = 90;
const VIR_FROM = { QEMU: 10, STORAGE: 18 };

export interface FakeDomain {
  name: string;
  uuid: Buffer;
  xml: string;
  active: boolean;
  /** False once undefined while it runs: it goes when it stops (libvirt's transient domain). */
  persistent: boolean;
}

export interface FakePool {
  name: string;
  uuid: Buffer;
  xml: string;
  /** The dir pool's <target><path>: where its volumes' files go. */
  dir: string;
  active: boolean;
  autostart: boolean;
}

export interface FakeVolume {
  pool: string;
  name: string;
  /** <dir>/<name>, also its key (as for libvirt's dir pools). */
  path: string;
  xml: string;
}

/** A daemon's refusal, as the fake throws it from a procedure; sent to the client as libvirt's remote_error. */
export class FakeLibvirtError extends Error {
  constructor(
    readonly virCode: number,
    message: string,
    readonly virDomain: number = VIR_FROM.QEMU,
  ) {
    super(message);
  }
}

type Answer = (args: never) => unknown;

/** A client connected to a new FakeLibvirt (no keepalive: nothing on the fake's side answers pings). */
export async function openFakeLibvirt(
  uri = 'qemu:///session',
): Promise<{ fake: FakeLibvirt; client: LibvirtClient }> {
  const [clientEnd, daemonEnd] = duplexPair();
  const fake = new FakeLibvirt(new FakeDaemon(daemonEnd));
  const client = await openClient(clientEnd, uri, { keepalive: false });
  return { fake, client };
}

/**
 * An in-memory libvirt session daemon behind the real wire protocol: domains, storage pools and volumes that the
 * client's calls define, start, stop and delete, answering as libvirt does (the same error numbers for a missing
 * domain, a running one, a volume that exists). `calls` records every procedure in order; `before` runs before a
 * call is answered and may throw a FakeLibvirtError to fail it, as a refusing daemon would. A client that registers
 * for lifecycle events gets them after the reply of the call that caused them (define, start, destroy, undefine),
 * and for whatever `emitLifecycle` says happened by itself; `daemon.close()` is the daemon going away.
 */
export class FakeLibvirt {
  readonly domains = new Map<string, FakeDomain>();
  readonly pools = new Map<string, FakePool>();
  readonly volumes = new Map<string, FakeVolume>();
  readonly calls: string[] = [];
  /** What CONNECT_GET_ALL_DOMAIN_STATS reports of each running domain, by name (none: only its state). */
  readonly stats = new Map<string, TypedParam[]>();
  libVersion = 10_000_000n;
  before: ((name: string, args: Record<string, unknown>) => void) | null = null;
  private nextUuid = 1;
  /** Lifecycle registrations of the client (callbackIDs). */
  readonly callbacks = new Set<number>();
  private nextCallback = 1;
  /** Events a call caused, sent after its reply. */
  private caused: [FakeDomain, number, number][] = [];

  constructor(readonly daemon: FakeDaemon) {
    const table: Record<string, { prog: number; proc: number; args: Codec<unknown>; ret: Codec<unknown> }> =
      procedures;
    const byNumber = new Map(Object.entries(table).map(([n, p]) => [`${p.prog}:${p.proc}`, n]));
    daemon.handler = (p, d) => {
      if (p.header.type !== MessageType.CALL) return;
      const name = byNumber.get(`${p.header.prog}:${p.header.proc}`) ?? `#${p.header.proc}`;
      const proc = table[name];
      try {
        if (!proc) throw new FakeLibvirtError(VIR_ERR.NO_SUPPORT, `unknown procedure ${name}`);
        const args = decode(proc.args, p.payload) as Record<string, unknown>;
        this.calls.push(name);
        this.before?.(name, args);
        const answer = this.answers[name];
        if (!answer)
          throw new FakeLibvirtError(VIR_ERR.NO_SUPPORT, `this fake daemon does not answer ${name}`);
        d.send(replyOk(p.header, proc.ret, answer(args as never)));
        for (const [dom, event, detail] of this.caused.splice(0)) this.sendLifecycle(dom, event, detail);
      } catch (e) {
        this.caused = [];
        const f = e instanceof FakeLibvirtError ? e : new FakeLibvirtError(1, String(e));
        d.send(replyError(p.header, errorValue(f.virCode, f.message, f.virDomain)));
      }
    };
  }

  /** Tells every lifecycle registration that `name` had `event` (LifecycleEventType) with `detail`. */
  emitLifecycle(name: string, event: number, detail = 0): void {
    const d = this.domains.get(name);
    if (!d) throw new Error(`no domain ${name} in the fake`);
    this.sendLifecycle(d, event, detail);
  }

  private sendLifecycle(d: FakeDomain, event: number, detail: number): void {
    const ev = events.DOMAIN_EVENT_CALLBACK_LIFECYCLE;
    for (const callbackID of this.callbacks) {
      this.daemon.send(
        packet(
          header({ proc: ev.proc, type: MessageType.MESSAGE, serial: 0 }),
          encode(ev.msg, { callbackID, dom: this.ref(d), event, detail }),
        ),
      );
    }
  }

  /** Answers the procedure `name` with `fn`: one this fake does not model, or one whose answer a test replaces. */
  answer(name: string, fn: Answer): void {
    this.answers[name] = fn;
  }

  /** The domain of this name (persistent or running), as the client's Domain. */
  domainRef(name: string): { name: string; uuid: Buffer; id: number } {
    const d = this.domains.get(name);
    if (!d)
      throw new FakeLibvirtError(
        VIR_ERR.NO_DOMAIN,
        `Domain not found: no domain with matching name '${name}'`,
      );
    return this.ref(d);
  }

  private ref(d: FakeDomain) {
    return { name: d.name, uuid: d.uuid, id: d.active ? 1 : -1 };
  }

  private byUuid(dom: { uuid: Buffer }): FakeDomain {
    for (const d of this.domains.values()) if (d.uuid.equals(dom.uuid)) return d;
    throw new FakeLibvirtError(
      VIR_ERR.NO_DOMAIN,
      `Domain not found: no domain with matching uuid '${uuidText(dom.uuid)}'`,
    );
  }

  private pool(ref: { name: string }): FakePool {
    const p = this.pools.get(ref.name);
    if (!p) {
      throw new FakeLibvirtError(
        VIR_ERR.NO_STORAGE_POOL,
        `Storage pool not found: no storage pool with matching name '${ref.name}'`,
        VIR_FROM.STORAGE,
      );
    }
    return p;
  }

  private volume(path: string): FakeVolume {
    const v = this.volumes.get(path);
    if (!v) {
      throw new FakeLibvirtError(
        VIR_ERR.NO_STORAGE_VOL,
        `Storage volume not found: no storage vol with matching path '${path}'`,
        VIR_FROM.STORAGE,
      );
    }
    return v;
  }

  private volRef(v: FakeVolume) {
    return { pool: v.pool, name: v.name, key: v.path };
  }

  private defineDomain(xml: string): FakeDomain {
    const name = xmlText(xml, 'name') ?? '';
    const uuidHex = xmlText(xml, 'uuid')?.replace(/-/g, '');
    const uuid = uuidHex ? Buffer.from(uuidHex, 'hex') : Buffer.alloc(16, this.nextUuid++);
    const old = this.domains.get(name);
    if (old && !old.uuid.equals(uuid)) {
      throw new FakeLibvirtError(
        VIR_ERR.OPERATION_FAILED,
        `operation failed: domain '${name}' already exists with uuid ${uuidText(old.uuid)}`,
      );
    }
    const d: FakeDomain = { name, uuid, xml, active: old?.active ?? false, persistent: true };
    this.domains.set(name, d);
    // virDomainEventDefinedDetailType: 0 added, 1 updated.
    this.caused.push([d, LifecycleEventType.DEFINED, old ? 1 : 0]);
    return d;
  }

  private readonly answers: Record<string, Answer> = {
    AUTH_LIST: () => ({ types: [0] }),
    CONNECT_OPEN: () => undefined,
    CONNECT_CLOSE: () => undefined,
    CONNECT_GET_LIB_VERSION: () => ({ lib_ver: this.libVersion }),
    CONNECT_SUPPORTS_FEATURE: () => ({ supported: 1 }),
    CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: () => {
      const callbackID = this.nextCallback++;
      this.callbacks.add(callbackID);
      return { callbackID };
    },
    CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: (a: { callbackID: number }) =>
      void this.callbacks.delete(a.callbackID),
    CONNECT_LIST_ALL_DOMAINS: () => {
      const domains = [...this.domains.values()].map((d) => this.ref(d));
      return { domains, ret: domains.length };
    },
    DOMAIN_LOOKUP_BY_NAME: (a: { name: string }) => ({ dom: this.domainRef(a.name) }),
    DOMAIN_LOOKUP_BY_UUID: (a: { uuid: Buffer }) => ({ dom: this.ref(this.byUuid(a)) }),
    DOMAIN_DEFINE_XML_FLAGS: (a: { xml: string }) => ({ dom: this.ref(this.defineDomain(a.xml)) }),
    DOMAIN_GET_XML_DESC: (a: { dom: { uuid: Buffer } }) => ({ xml: this.byUuid(a.dom).xml }),
    DOMAIN_IS_ACTIVE: (a: { dom: { uuid: Buffer } }) => ({ active: this.byUuid(a.dom).active ? 1 : 0 }),
    DOMAIN_GET_STATE: (a: { dom: { uuid: Buffer } }) => ({
      state: this.byUuid(a.dom).active ? 1 : 5,
      reason: 0,
    }),
    DOMAIN_CREATE_WITH_FLAGS: (a: { dom: { uuid: Buffer } }) => {
      const d = this.byUuid(a.dom);
      if (d.active)
        throw new FakeLibvirtError(
          VIR_ERR_OPERATION_INVALID,
          'Requested operation is not valid: domain is already running',
        );
      d.active = true;
      this.caused.push([d, LifecycleEventType.STARTED, 0]); // booted
      return { dom: this.ref(d) };
    },
    DOMAIN_DESTROY_FLAGS: (a: { dom: { uuid: Buffer } }) => {
      const d = this.byUuid(a.dom);
      if (!d.active)
        throw new FakeLibvirtError(
          VIR_ERR_OPERATION_INVALID,
          'Requested operation is not valid: domain is not running',
        );
      d.active = false;
      this.caused.push([d, LifecycleEventType.STOPPED, 1]); // destroyed
      if (!d.persistent) this.domains.delete(d.name);
    },
    CONNECT_GET_ALL_DOMAIN_STATS: (a: { doms: { uuid: Buffer }[] }) => ({
      retStats: (a.doms.length ? a.doms.map((d) => this.byUuid(d)) : [...this.domains.values()])
        .filter((d) => d.active || a.doms.length > 0)
        .map((d) => ({
          dom: this.ref(d),
          params: [
            { field: 'state.state', value: { type: 1, value: d.active ? 1 : 5 } },
            ...(d.active ? (this.stats.get(d.name) ?? []) : []),
          ],
        })),
    }),
    // No snapshots in this fake: every domain has none.
    DOMAIN_LIST_ALL_SNAPSHOTS: () => ({ snapshots: [], ret: 0 }),
    DOMAIN_UNDEFINE_FLAGS: (a: { dom: { uuid: Buffer } }) => {
      const d = this.byUuid(a.dom);
      if (d.active) d.persistent = false;
      else this.domains.delete(d.name);
      this.caused.push([d, LifecycleEventType.UNDEFINED, 0]); // removed
    },
    STORAGE_POOL_LOOKUP_BY_NAME: (a: { name: string }) => {
      const p = this.pool(a);
      return { pool: { name: p.name, uuid: p.uuid } };
    },
    STORAGE_POOL_DEFINE_XML: (a: { xml: string }) => {
      const name = xmlText(a.xml, 'name') ?? '';
      const dir = xmlText(a.xml, 'path') ?? '';
      const p: FakePool = {
        name,
        uuid: Buffer.alloc(16, 0xf0),
        xml: a.xml,
        dir,
        active: false,
        autostart: false,
      };
      this.pools.set(name, p);
      return { pool: { name, uuid: p.uuid } };
    },
    STORAGE_POOL_BUILD: (a: { pool: { name: string } }) => void this.pool(a.pool),
    STORAGE_POOL_CREATE: (a: { pool: { name: string } }) => void (this.pool(a.pool).active = true),
    STORAGE_POOL_SET_AUTOSTART: (a: { pool: { name: string }; autostart: number }) =>
      void (this.pool(a.pool).autostart = a.autostart !== 0),
    STORAGE_POOL_IS_ACTIVE: (a: { pool: { name: string } }) => ({ active: this.pool(a.pool).active ? 1 : 0 }),
    STORAGE_POOL_GET_XML_DESC: (a: { pool: { name: string } }) => ({ xml: this.pool(a.pool).xml }),
    STORAGE_VOL_CREATE_XML: (a: { pool: { name: string }; xml: string }) => {
      const pool = this.pool(a.pool);
      const name = xmlText(a.xml, 'name') ?? '';
      const path = `${pool.dir}/${name}`;
      if (this.volumes.has(path)) {
        throw new FakeLibvirtError(
          VIR_ERR_STORAGE_VOL_EXIST,
          `storage volume '${name}' exists already`,
          VIR_FROM.STORAGE,
        );
      }
      const v: FakeVolume = { pool: pool.name, name, path, xml: a.xml };
      this.volumes.set(path, v);
      return { vol: this.volRef(v) };
    },
    STORAGE_VOL_LOOKUP_BY_NAME: (a: { pool: { name: string }; name: string }) => {
      const path = `${this.pool(a.pool).dir}/${a.name}`;
      if (!this.volumes.has(path)) {
        throw new FakeLibvirtError(
          VIR_ERR.NO_STORAGE_VOL,
          `Storage volume not found: no storage vol with matching name '${a.name}'`,
          VIR_FROM.STORAGE,
        );
      }
      return { vol: this.volRef(this.volume(path)) };
    },
    STORAGE_POOL_LIST_ALL_VOLUMES: (a: { pool: { name: string } }) => {
      const pool = this.pool(a.pool);
      const vols = [...this.volumes.values()].filter((v) => v.pool === pool.name).map((v) => this.volRef(v));
      return { vols, ret: vols.length };
    },
    STORAGE_VOL_GET_XML_DESC: (a: { vol: { key: string } }) => ({ xml: this.volume(a.vol.key).xml }),
    STORAGE_VOL_GET_PATH: (a: { vol: { key: string } }) => ({ name: this.volume(a.vol.key).path }),
    STORAGE_VOL_LOOKUP_BY_PATH: (a: { path: string }) => ({ vol: this.volRef(this.volume(a.path)) }),
    STORAGE_VOL_DELETE: (a: { vol: { key: string } }) =>
      void this.volumes.delete(this.volume(a.vol.key).path),
  };
}

/** The text of the first <tag> in an XML document (the fake reads only names, UUIDs and paths). */
function xmlText(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1]?.trim();
}

function uuidText(uuid: Buffer): string {
  const h = uuid.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
