// LibvirtClient: readable methods over the procedure table, plus the handshake and lazy reconnect.
//
// Reconnect contract: with `reconnect` set, a call made after the connection closed dials again and
// redoes the handshake before it is sent. A handshake cut off by a closing connection (a daemon killed a moment
// ago still accepts connections until the kernel has torn it down; the next dial starts a new one) is dialled
// again a few times: the handshake changes nothing on the daemon, so repeating it is always safe. Calls in flight when the connection dies still fail with
// ConnectionClosedError (they may or may not have run; only the caller can decide to retry). Nothing is
// re-registered: event iterators end with ConnectionClosedError and must be started again, open
// streams fail, and feature answers are asked again.

import type { Duplex, Readable } from 'node:stream';
import { ConnectionClosedError, EventOverflowError, ProtocolError } from './errors.js';
import {
  type ArgsOf,
  type LifecycleEventMessage,
  type Procedure,
  type ProcedureName,
  type RetOf,
  events,
  procedures,
} from './procedures.js';
import { RpcClient, type KeepaliveOptions } from './rpc/client.js';
import type { LibvirtStream } from './rpc/stream.js';
import type { Transport } from './rpc/transport.js';
import {
  AuthType,
  Feature,
  ListDomainsFlags,
  type Domain,
  type DomainInterface,
  type DomainSnapshot,
  type Network,
  type NetworkDhcpLease,
  type StoragePool,
  type StorageVol,
} from './types.js';
import { decode } from './xdr/index.js';

export interface OpenClientOptions {
  /** Open the connection read-only (VIR_CONNECT_RO). */
  readOnly?: boolean;
  /** Active keepalive probing; `false` turns it off. Default: a PING after 5 s of silence, give up after 6. */
  keepalive?: KeepaliveOptions | false;
  /** Dials a fresh transport; enables "the next call reconnects" after the connection closed. */
  reconnect?: () => Promise<Transport>;
  /** Fail a call with CallTimeoutError when its reply takes longer (ms); streams and events have no limit. */
  callTimeoutMs?: number;
}

export interface DomainInfo {
  state: number;
  /** KiB */
  maxMem: bigint;
  /** KiB */
  memory: bigint;
  nrVirtCpu: number;
  /** ns */
  cpuTime: bigint;
}

export interface LifecycleEvent {
  dom: Domain;
  /** LifecycleEventType */
  event: number;
  detail: number;
}

export interface VolumeTransferOptions {
  offset?: bigint;
  /** Bytes to transfer; 0 means up to the end of the volume. */
  length?: bigint;
  /** SPARSE = 1 */
  flags?: number;
}

type ArgsParam<N extends ProcedureName> = ArgsOf<N> extends void ? [] : [ArgsOf<N>];

const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 5000, maxMissed: 6 };
/** Dials (first one included) for a handshake the connection's closing cut off, and the pause between them. */
const HANDSHAKE_ATTEMPTS = 5;
const HANDSHAKE_RETRY_MS = 50;
const EVENT_QUEUE_MAX = 10_000;

/** Opens a libvirt connection over an already dialled transport: AUTH_LIST, AUTH_POLKIT if needed, CONNECT_OPEN. */
export async function openClient(
  transport: Transport,
  openName: string,
  opts: OpenClientOptions = {},
): Promise<LibvirtClient> {
  const client = new LibvirtClient(openName, opts);
  await client['open'](transport); // private on purpose: the handshake is not public API
  return client;
}

export class LibvirtClient {
  private rpc: RpcClient | null = null;
  private connecting: Promise<RpcClient> | null = null;
  private closedByUser = false;
  private features = new Map<number, Promise<boolean>>();
  private lastCloseError: ConnectionClosedError | null = null;

  /** Use openClient(). */
  constructor(
    private readonly openName: string,
    private readonly opts: OpenClientOptions,
  ) {}

  // ---- raw access -------------------------------------------------------------------------------

  /** Calls any procedure of the table with typed arguments and reply. */
  async call<N extends ProcedureName>(name: N, ...args: ArgsParam<N>): Promise<RetOf<N>> {
    const p = procedures[name] as unknown as Procedure<ArgsOf<N>, RetOf<N>>;
    const rpc = await this.connection();
    return rpc.call(p.prog, p.proc, p.args, args[0] as ArgsOf<N>, p.ret);
  }

  /** True once the current connection closed (a later call reconnects when `reconnect` was given). */
  get closed(): boolean {
    return this.closedByUser || !this.rpc || this.rpc.closed;
  }

  /** Says goodbye (CONNECT_CLOSE) and closes the transport. */
  async close(): Promise<void> {
    if (this.closedByUser) return;
    this.closedByUser = true;
    const rpc = this.rpc;
    if (!rpc || rpc.closed) return;
    const p = procedures.CONNECT_CLOSE;
    await rpc.call(p.prog, p.proc, p.args, undefined, p.ret).catch(() => {});
    rpc.close();
  }

  async supportsFeature(feature: number): Promise<boolean> {
    const rpc = await this.connection();
    let answer = this.features.get(feature);
    if (!answer) {
      const p = procedures.CONNECT_SUPPORTS_FEATURE;
      answer = rpc.call(p.prog, p.proc, p.args, { feature }, p.ret).then((r) => r.supported !== 0);
      answer.catch(() => this.features.delete(feature));
      this.features.set(feature, answer);
    }
    return answer;
  }

  // ---- connection facts -------------------------------------------------------------------------

  async uri(): Promise<string> {
    return (await this.call('CONNECT_GET_URI')).uri;
  }
  /** Hypervisor version, major·1e6 + minor·1e3 + micro. */
  async version(): Promise<bigint> {
    return (await this.call('CONNECT_GET_VERSION')).hv_ver;
  }
  /** libvirt version of the daemon, major·1e6 + minor·1e3 + micro. */
  async libVersion(): Promise<bigint> {
    return (await this.call('CONNECT_GET_LIB_VERSION')).lib_ver;
  }
  async hostname(): Promise<string> {
    return (await this.call('CONNECT_GET_HOSTNAME')).hostname;
  }
  async capabilities(): Promise<string> {
    return (await this.call('CONNECT_GET_CAPABILITIES')).capabilities;
  }
  async domainCapabilities(
    q: { emulatorbin?: string; arch?: string; machine?: string; virttype?: string; flags?: number } = {},
  ): Promise<string> {
    const r = await this.call('CONNECT_GET_DOMAIN_CAPABILITIES', {
      emulatorbin: q.emulatorbin ?? null,
      arch: q.arch ?? null,
      machine: q.machine ?? null,
      virttype: q.virttype ?? null,
      flags: q.flags ?? 0,
    });
    return r.capabilities;
  }

  // ---- domains ----------------------------------------------------------------------------------

  async listDomains(flags: number = ListDomainsFlags.ACTIVE | ListDomainsFlags.INACTIVE): Promise<Domain[]> {
    return (await this.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags })).domains;
  }
  async lookupDomain(name: string): Promise<Domain> {
    return (await this.call('DOMAIN_LOOKUP_BY_NAME', { name })).dom;
  }
  async lookupDomainByUuid(uuid: Buffer): Promise<Domain> {
    return (await this.call('DOMAIN_LOOKUP_BY_UUID', { uuid })).dom;
  }
  async defineDomain(xml: string, flags = 0): Promise<Domain> {
    return (await this.call('DOMAIN_DEFINE_XML_FLAGS', { xml, flags })).dom;
  }
  async undefineDomain(dom: Domain, flags = 0): Promise<void> {
    await this.call('DOMAIN_UNDEFINE_FLAGS', { dom, flags });
  }
  /** Starts a defined domain; returns the handle with its new id. */
  async startDomain(dom: Domain, flags = 0): Promise<Domain> {
    return (await this.call('DOMAIN_CREATE_WITH_FLAGS', { dom, flags })).dom;
  }
  async destroyDomain(dom: Domain, flags = 0): Promise<void> {
    await this.call('DOMAIN_DESTROY_FLAGS', { dom, flags });
  }
  async shutdownDomain(dom: Domain, flags = 0): Promise<void> {
    await this.call('DOMAIN_SHUTDOWN_FLAGS', { dom, flags });
  }
  async rebootDomain(dom: Domain, flags = 0): Promise<void> {
    await this.call('DOMAIN_REBOOT', { dom, flags });
  }
  async suspendDomain(dom: Domain): Promise<void> {
    await this.call('DOMAIN_SUSPEND', { dom });
  }
  async resumeDomain(dom: Domain): Promise<void> {
    await this.call('DOMAIN_RESUME', { dom });
  }
  async getState(dom: Domain): Promise<{ state: number; reason: number }> {
    return this.call('DOMAIN_GET_STATE', { dom, flags: 0 });
  }
  async getInfo(dom: Domain): Promise<DomainInfo> {
    return this.call('DOMAIN_GET_INFO', { dom });
  }
  async getXml(dom: Domain, flags = 0): Promise<string> {
    return (await this.call('DOMAIN_GET_XML_DESC', { dom, flags })).xml;
  }
  async isActive(dom: Domain): Promise<boolean> {
    return (await this.call('DOMAIN_IS_ACTIVE', { dom })).active !== 0;
  }
  async getAutostart(dom: Domain): Promise<boolean> {
    return (await this.call('DOMAIN_GET_AUTOSTART', { dom })).autostart !== 0;
  }
  async setAutostart(dom: Domain, autostart: boolean): Promise<void> {
    await this.call('DOMAIN_SET_AUTOSTART', { dom, autostart: autostart ? 1 : 0 });
  }
  /** Sets custom metadata (type 2 = ELEMENT: `metadata` is XML under namespace `uri`, prefix `key`). */
  async setMetadata(
    dom: Domain,
    m: { type: number; metadata: string | null; key?: string | null; uri?: string | null; flags?: number },
  ): Promise<void> {
    await this.call('DOMAIN_SET_METADATA', {
      dom,
      type: m.type,
      metadata: m.metadata,
      key: m.key ?? null,
      uri: m.uri ?? null,
      flags: m.flags ?? 0,
    });
  }
  async getMetadata(dom: Domain, type: number, uri: string | null = null, flags = 0): Promise<string> {
    return (await this.call('DOMAIN_GET_METADATA', { dom, type, uri, flags })).metadata;
  }
  /** source: InterfaceAddressSource (LEASE 0, AGENT 1, ARP 2). */
  async interfaceAddresses(dom: Domain, source: number, flags = 0): Promise<DomainInterface[]> {
    return (await this.call('DOMAIN_INTERFACE_ADDRESSES', { dom, source, flags })).ifaces;
  }
  async attachDevice(dom: Domain, xml: string, flags = 0): Promise<void> {
    await this.call('DOMAIN_ATTACH_DEVICE_FLAGS', { dom, xml, flags });
  }
  async detachDevice(dom: Domain, xml: string, flags = 0): Promise<void> {
    await this.call('DOMAIN_DETACH_DEVICE_FLAGS', { dom, xml, flags });
  }
  async updateDevice(dom: Domain, xml: string, flags = 0): Promise<void> {
    await this.call('DOMAIN_UPDATE_DEVICE_FLAGS', { dom, xml, flags });
  }
  /** Runs a guest-agent JSON command. timeout: -2 block, -1 default, 0 no wait, > 0 seconds. */
  async agentCommand(dom: Domain, cmd: string, timeout = -1, flags = 0): Promise<string | null> {
    return (await this.call('QEMU_DOMAIN_AGENT_COMMAND', { dom, cmd, timeout, flags })).result;
  }
  /** The domain's console (serial by default) as a two-way byte stream. flags: FORCE 1, SAFE 2. */
  async openConsole(dom: Domain, devName: string | null = null, flags = 0): Promise<Duplex> {
    return this.openStream('DOMAIN_OPEN_CONSOLE', { dom, dev_name: devName, flags });
  }

  /** Grows a running domain's disk (target name like 'vda', or its path); flag 1 (BYTES): `size` in bytes. */
  async blockResize(dom: Domain, disk: string, size: bigint, flags = 0): Promise<void> {
    await this.call('DOMAIN_BLOCK_RESIZE', { dom, disk, size, flags });
  }

  // ---- snapshots --------------------------------------------------------------------------------

  async createSnapshot(dom: Domain, xml: string, flags = 0): Promise<DomainSnapshot> {
    return (await this.call('DOMAIN_SNAPSHOT_CREATE_XML', { dom, xml_desc: xml, flags })).snap;
  }
  async listSnapshots(dom: Domain, flags = 0): Promise<DomainSnapshot[]> {
    return (await this.call('DOMAIN_LIST_ALL_SNAPSHOTS', { dom, need_results: 1, flags })).snapshots;
  }
  async lookupSnapshot(dom: Domain, name: string): Promise<DomainSnapshot> {
    return (await this.call('DOMAIN_SNAPSHOT_LOOKUP_BY_NAME', { dom, name, flags: 0 })).snap;
  }
  async getSnapshotXml(snap: DomainSnapshot, flags = 0): Promise<string> {
    return (await this.call('DOMAIN_SNAPSHOT_GET_XML_DESC', { snap, flags })).xml;
  }
  async hasCurrentSnapshot(dom: Domain): Promise<boolean> {
    return (await this.call('DOMAIN_HAS_CURRENT_SNAPSHOT', { dom, flags: 0 })).result !== 0;
  }
  async currentSnapshot(dom: Domain): Promise<DomainSnapshot> {
    return (await this.call('DOMAIN_SNAPSHOT_CURRENT', { dom, flags: 0 })).snap;
  }
  async revertToSnapshot(snap: DomainSnapshot, flags = 0): Promise<void> {
    await this.call('DOMAIN_REVERT_TO_SNAPSHOT', { snap, flags });
  }
  async deleteSnapshot(snap: DomainSnapshot, flags = 0): Promise<void> {
    await this.call('DOMAIN_SNAPSHOT_DELETE', { snap, flags });
  }

  // ---- events -----------------------------------------------------------------------------------

  /**
   * Domain lifecycle events (all domains, or one). Registration (proc 316) happens on the first
   * next(); return() — e.g. leaving a for-await loop — deregisters (317). If the connection closes the
   * iterator throws ConnectionClosedError; it is not re-registered after a reconnect.
   */
  lifecycleEvents(opts: { domain?: Domain } = {}): AsyncIterableIterator<LifecycleEvent> {
    return new LifecycleIterator(this, opts.domain ?? null);
  }

  // ---- storage pools ----------------------------------------------------------------------------

  async listStoragePools(flags = 0): Promise<StoragePool[]> {
    return (await this.call('CONNECT_LIST_ALL_STORAGE_POOLS', { need_results: 1, flags })).pools;
  }
  async lookupStoragePool(name: string): Promise<StoragePool> {
    return (await this.call('STORAGE_POOL_LOOKUP_BY_NAME', { name })).pool;
  }
  async defineStoragePool(xml: string, flags = 0): Promise<StoragePool> {
    return (await this.call('STORAGE_POOL_DEFINE_XML', { xml, flags })).pool;
  }
  /** Creates and starts a transient pool from XML. */
  async createStoragePoolXml(xml: string, flags = 0): Promise<StoragePool> {
    return (await this.call('STORAGE_POOL_CREATE_XML', { xml, flags })).pool;
  }
  async buildStoragePool(pool: StoragePool, flags = 0): Promise<void> {
    await this.call('STORAGE_POOL_BUILD', { pool, flags });
  }
  /** Starts a defined pool. */
  async startStoragePool(pool: StoragePool, flags = 0): Promise<void> {
    await this.call('STORAGE_POOL_CREATE', { pool, flags });
  }
  async destroyStoragePool(pool: StoragePool): Promise<void> {
    await this.call('STORAGE_POOL_DESTROY', { pool });
  }
  async undefineStoragePool(pool: StoragePool): Promise<void> {
    await this.call('STORAGE_POOL_UNDEFINE', { pool });
  }
  async refreshStoragePool(pool: StoragePool): Promise<void> {
    await this.call('STORAGE_POOL_REFRESH', { pool, flags: 0 });
  }
  async getStoragePoolInfo(
    pool: StoragePool,
  ): Promise<{ state: number; capacity: bigint; allocation: bigint; available: bigint }> {
    return this.call('STORAGE_POOL_GET_INFO', { pool });
  }
  async getStoragePoolXml(pool: StoragePool, flags = 0): Promise<string> {
    return (await this.call('STORAGE_POOL_GET_XML_DESC', { pool, flags })).xml;
  }
  async isStoragePoolActive(pool: StoragePool): Promise<boolean> {
    return (await this.call('STORAGE_POOL_IS_ACTIVE', { pool })).active !== 0;
  }
  async setStoragePoolAutostart(pool: StoragePool, autostart: boolean): Promise<void> {
    await this.call('STORAGE_POOL_SET_AUTOSTART', { pool, autostart: autostart ? 1 : 0 });
  }

  // ---- storage volumes --------------------------------------------------------------------------

  async listVolumes(pool: StoragePool): Promise<StorageVol[]> {
    return (await this.call('STORAGE_POOL_LIST_ALL_VOLUMES', { pool, need_results: 1, flags: 0 })).vols;
  }
  async lookupVolume(pool: StoragePool, name: string): Promise<StorageVol> {
    return (await this.call('STORAGE_VOL_LOOKUP_BY_NAME', { pool, name })).vol;
  }
  async lookupVolumeByPath(path: string): Promise<StorageVol> {
    return (await this.call('STORAGE_VOL_LOOKUP_BY_PATH', { path })).vol;
  }
  async createVolume(pool: StoragePool, xml: string, flags = 0): Promise<StorageVol> {
    return (await this.call('STORAGE_VOL_CREATE_XML', { pool, xml, flags })).vol;
  }
  /** A new volume from `xml` holding a copy of `from`'s data (libvirt runs qemu-img convert: a full copy). */
  async createVolumeFrom(pool: StoragePool, xml: string, from: StorageVol, flags = 0): Promise<StorageVol> {
    return (await this.call('STORAGE_VOL_CREATE_XML_FROM', { pool, xml, clonevol: from, flags })).vol;
  }
  async deleteVolume(vol: StorageVol, flags = 0): Promise<void> {
    await this.call('STORAGE_VOL_DELETE', { vol, flags });
  }
  async getVolumePath(vol: StorageVol): Promise<string> {
    return (await this.call('STORAGE_VOL_GET_PATH', { vol })).name;
  }
  async getVolumeInfo(vol: StorageVol): Promise<{ type: number; capacity: bigint; allocation: bigint }> {
    return this.call('STORAGE_VOL_GET_INFO', { vol });
  }
  async getVolumeXml(vol: StorageVol, flags = 0): Promise<string> {
    return (await this.call('STORAGE_VOL_GET_XML_DESC', { vol, flags })).xml;
  }
  async resizeVolume(vol: StorageVol, capacity: bigint, flags = 0): Promise<void> {
    await this.call('STORAGE_VOL_RESIZE', { vol, capacity, flags });
  }
  /** Writes `source` into the volume; resolves once the daemon confirmed the finished stream. */
  async uploadVolume(
    vol: StorageVol,
    source: Readable | Buffer,
    o: VolumeTransferOptions = {},
  ): Promise<void> {
    const length = o.length ?? (Buffer.isBuffer(source) ? BigInt(source.length) : 0n);
    const stream = await this.openStream('STORAGE_VOL_UPLOAD', {
      vol,
      offset: o.offset ?? 0n,
      length,
      flags: o.flags ?? 0,
    });
    // Node's stream helpers load only here: most commands move no volume data.
    const [{ Readable }, { pipeline }] = await Promise.all([
      import('node:stream'),
      import('node:stream/promises'),
    ]);
    await pipeline(Buffer.isBuffer(source) ? Readable.from([source]) : source, stream);
  }
  /** The volume's bytes as a Readable; it ends after the daemon's end of data. */
  async downloadVolume(vol: StorageVol, o: VolumeTransferOptions = {}): Promise<Readable> {
    return this.openStream('STORAGE_VOL_DOWNLOAD', {
      vol,
      offset: o.offset ?? 0n,
      length: o.length ?? 0n,
      flags: o.flags ?? 0,
    });
  }

  // ---- networks ---------------------------------------------------------------------------------

  async listNetworks(flags = 0): Promise<Network[]> {
    return (await this.call('CONNECT_LIST_ALL_NETWORKS', { need_results: 1, flags })).nets;
  }
  async lookupNetwork(name: string): Promise<Network> {
    return (await this.call('NETWORK_LOOKUP_BY_NAME', { name })).net;
  }
  async getNetworkXml(net: Network, flags = 0): Promise<string> {
    return (await this.call('NETWORK_GET_XML_DESC', { net, flags })).xml;
  }
  async isNetworkActive(net: Network): Promise<boolean> {
    return (await this.call('NETWORK_IS_ACTIVE', { net })).active !== 0;
  }
  async dhcpLeases(net: Network, mac: string | null = null): Promise<NetworkDhcpLease[]> {
    return (await this.call('NETWORK_GET_DHCP_LEASES', { net, mac, need_results: 1, flags: 0 })).leases;
  }

  // ---- internals --------------------------------------------------------------------------------

  /** @internal The live RPC connection, re-dialled if it closed and `reconnect` allows. */
  async connection(): Promise<RpcClient> {
    if (this.closedByUser) throw new ConnectionClosedError('libvirt client was closed');
    if (this.rpc && !this.rpc.closed) return this.rpc;
    const reconnect = this.opts.reconnect;
    if (!reconnect) throw this.lastCloseError ?? new ConnectionClosedError();
    this.connecting ??= this.open(null).finally(() => (this.connecting = null));
    return this.connecting;
  }

  /** Handshake on `first` (or a fresh dial), dialling again while the connection closes under the handshake. */
  private async open(first: Transport | null): Promise<RpcClient> {
    const reconnect = this.opts.reconnect;
    for (let attempt = 1; ; attempt++) {
      const transport = first ?? (await reconnect!());
      first = null;
      try {
        return await this.attach(transport);
      } catch (err) {
        const retry =
          err instanceof ConnectionClosedError &&
          !this.closedByUser &&
          reconnect !== undefined &&
          attempt < HANDSHAKE_ATTEMPTS;
        if (!retry) throw err;
        await new Promise((r) => setTimeout(r, HANDSHAKE_RETRY_MS * attempt));
      }
    }
  }

  private async attach(transport: Transport): Promise<RpcClient> {
    const keepalive = this.opts.keepalive === false ? undefined : (this.opts.keepalive ?? DEFAULT_KEEPALIVE);
    const rpc = new RpcClient(transport, { keepalive, callTimeoutMs: this.opts.callTimeoutMs });
    rpc.onClose((err) => (this.lastCloseError = err));
    const run = <N extends ProcedureName>(name: N, ...args: ArgsParam<N>): Promise<RetOf<N>> => {
      const p = procedures[name] as unknown as Procedure<ArgsOf<N>, RetOf<N>>;
      return rpc.call(p.prog, p.proc, p.args, args[0] as ArgsOf<N>, p.ret);
    };
    try {
      const { types } = await run('AUTH_LIST');
      // Like libvirt's remote driver: the daemon's first listed method is the one to use.
      const method = types[0] ?? AuthType.NONE;
      if (method === AuthType.POLKIT) await run('AUTH_POLKIT');
      else if (method !== AuthType.NONE) {
        throw new ProtocolError(
          'PROTOCOL_UNSUPPORTED',
          `the daemon wants auth type ${method}; only none and polkit are supported`,
        );
      }
      await run('CONNECT_OPEN', { name: this.openName, flags: this.opts.readOnly ? 1 : 0 });
    } catch (err) {
      rpc.close();
      throw err;
    }
    if (this.closedByUser) {
      // close() ran while we were (re)connecting.
      rpc.close();
      throw new ConnectionClosedError('libvirt client was closed');
    }
    this.rpc = rpc;
    this.features = new Map();
    return rpc;
  }

  /** @internal Calls a stream-opening procedure; resolves with the stream after the daemon's REPLY/OK. */
  async openStream<N extends ProcedureName>(name: N, args: ArgsOf<N>): Promise<LibvirtStream> {
    const p = procedures[name] as unknown as Procedure<ArgsOf<N>, RetOf<N>>;
    if (!p.stream) throw new TypeError(`${name} does not open a stream`);
    const rpc = await this.connection();
    return rpc.openStream(p.prog, p.proc, p.args, args, p.stream);
  }
}

/** Async iterator over lifecycle events of one registration (see LibvirtClient.lifecycleEvents). */
class LifecycleIterator implements AsyncIterableIterator<LifecycleEvent> {
  private readonly queue: LifecycleEvent[] = [];
  private waiter: { resolve(r: IteratorResult<LifecycleEvent>): void; reject(e: Error): void } | null = null;
  private failure: Error | null = null;
  private finished = false;
  private started: Promise<void> | null = null;
  private rpc: RpcClient | null = null;
  private callbackID: number | null = null;
  private early: LifecycleEventMessage[] = [];
  private cleanups: (() => void)[] = [];

  constructor(
    private readonly client: LibvirtClient,
    private readonly domain: Domain | null,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<LifecycleEvent> {
    return this;
  }

  async next(): Promise<IteratorResult<LifecycleEvent>> {
    this.started ??= this.start().catch((err: Error) => this.fail(err));
    const item = this.queue.shift();
    if (item) return { value: item, done: false };
    if (this.failure) throw this.failure;
    if (this.finished) return { value: undefined, done: true };
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<LifecycleEvent>> {
    if (!this.finished) {
      this.finished = true;
      this.stop();
      await this.started?.catch(() => {});
      const rpc = this.rpc;
      if (rpc && !rpc.closed && this.callbackID !== null) {
        const p = procedures.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY;
        await rpc.call(p.prog, p.proc, p.args, { callbackID: this.callbackID }, p.ret).catch(() => {});
      }
      this.wake({ value: undefined, done: true });
    }
    return { value: undefined, done: true };
  }

  private async start(): Promise<void> {
    const rpc = await this.client.connection();
    if (!(await this.client.supportsFeature(Feature.REMOTE_EVENT_CALLBACK))) {
      throw new ProtocolError(
        'PROTOCOL_UNSUPPORTED',
        'the daemon does not support event callbacks (feature 14)',
      );
    }
    if (this.finished) return;
    this.rpc = rpc;
    const ev = events.DOMAIN_EVENT_CALLBACK_LIFECYCLE;
    // Subscribe before registering: an event may arrive right behind the registration's reply,
    // before we know our callbackID; those wait in `early`.
    this.cleanups.push(
      rpc.subscribe(ev.prog, ev.proc, (payload) => {
        let msg: LifecycleEventMessage;
        try {
          msg = decode(ev.msg, payload);
        } catch {
          return; // a malformed event is dropped, the stream of events goes on
        }
        if (this.callbackID === null) this.early.push(msg);
        else if (msg.callbackID === this.callbackID) this.deliver(msg);
      }),
      rpc.onClose((err) => this.fail(err)),
    );
    const p = procedures.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY;
    const { callbackID } = await rpc.call(p.prog, p.proc, p.args, { eventID: 0, dom: this.domain }, p.ret);
    this.callbackID = callbackID;
    for (const msg of this.early) if (msg.callbackID === callbackID) this.deliver(msg);
    this.early = [];
    if (this.finished) {
      // return() ran while we were registering: undo it.
      const d = procedures.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY;
      await rpc.call(d.prog, d.proc, d.args, { callbackID }, d.ret).catch(() => {});
    }
  }

  private deliver(msg: LifecycleEventMessage): void {
    if (this.finished || this.failure) return;
    const event: LifecycleEvent = { dom: msg.dom, event: msg.event, detail: msg.detail };
    if (this.waiter) return this.wake({ value: event, done: false });
    if (this.queue.length >= EVENT_QUEUE_MAX) {
      this.fail(new EventOverflowError(`more than ${EVENT_QUEUE_MAX} lifecycle events waiting to be read`));
      return;
    }
    this.queue.push(event);
  }

  private fail(err: Error): void {
    if (this.finished || this.failure) return;
    this.failure = err;
    this.stop();
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }

  private wake(r: IteratorResult<LifecycleEvent>): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve(r);
  }

  private stop(): void {
    for (const c of this.cleanups) c();
    this.cleanups = [];
  }
}
