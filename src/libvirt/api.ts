// LibvirtClient: readable methods over the procedure table. The connection underneath (handshake, typed calls,
// lazy reconnect and its contract) is connection.ts; lifecycle events are lifecycle-events.ts.

import type { Duplex, Readable } from 'node:stream';
import { LibvirtConnection, type ArgsParam, type OpenClientOptions } from './connection.js';
import { lifecycleEvents, type LifecycleEvent, type LifecycleEventIterator } from './lifecycle-events.js';
import type { ArgsOf, ProcedureName, RetOf } from './procedures.js';
import type { RpcClient } from './rpc/client.js';
import type { LibvirtStream } from './rpc/stream.js';
import type { Transport } from './rpc/transport.js';
import {
  AgentCommandTimeout,
  ListDomainsFlags,
  type Domain,
  type DomainInterface,
  type DomainStatsRecord,
  type DomainSnapshot,
  type Network,
  type NetworkDhcpLease,
  type StoragePool,
  type StorageVol,
} from './types.js';

export type { LifecycleEvent, LifecycleEventIterator, OpenClientOptions };

export interface DomainInfo {
  /** DomainState */
  state: number;
  /** KiB */
  maxMem: bigint;
  /** KiB */
  memory: bigint;
  nrVirtCpu: number;
  /** ns */
  cpuTime: bigint;
}

export interface VolumeTransferOptions {
  offset?: bigint;
  /** Bytes to transfer; 0 means up to the end of the volume. */
  length?: bigint;
  /** StorageVolUploadFlags / StorageVolDownloadFlags. */
  flags?: number;
}

/** Opens a libvirt connection over an already dialled transport: AUTH_LIST, AUTH_POLKIT if needed, CONNECT_OPEN. */
export function openClient(
  transport: Transport,
  openName: string,
  opts: OpenClientOptions = {},
): Promise<LibvirtClient> {
  return LibvirtClient.open(transport, openName, opts);
}

export class LibvirtClient {
  private readonly conn: LibvirtConnection;

  /** Prefer openClient(): a client made here is not connected, and its first call dials with `opts.reconnect`. */
  constructor(openName: string, opts: OpenClientOptions) {
    this.conn = new LibvirtConnection(openName, opts);
  }

  /** A client whose handshake ran on `transport` (openClient). */
  static async open(
    transport: Transport,
    openName: string,
    opts: OpenClientOptions = {},
  ): Promise<LibvirtClient> {
    const client = new LibvirtClient(openName, opts);
    await client.conn.start(transport);
    return client;
  }

  // ---- raw access -------------------------------------------------------------------------------

  /** Calls any procedure of the table with typed arguments and reply. */
  call<N extends ProcedureName>(name: N, ...args: ArgsParam<N>): Promise<RetOf<N>> {
    return this.conn.call(name, ...args);
  }

  /** True once the current connection closed (a later call reconnects when `reconnect` was given). */
  get closed(): boolean {
    return this.conn.closed;
  }

  /** Says goodbye (CONNECT_CLOSE) and closes the transport. */
  close(): Promise<void> {
    return this.conn.close();
  }

  /** Whether the daemon supports a Feature (VIR_DRV_FEATURE_*); asked once per connection. */
  supportsFeature(feature: number): Promise<boolean> {
    return this.conn.supportsFeature(feature);
  }

  /** @internal The live RPC connection, re-dialled if it closed and `reconnect` allows. */
  connection(): Promise<RpcClient> {
    return this.conn.connection();
  }

  /** @internal Calls a stream-opening procedure; resolves with the stream after the daemon's REPLY/OK. */
  openStream<N extends ProcedureName>(name: N, args: ArgsOf<N>): Promise<LibvirtStream> {
    return this.conn.openStream(name, args);
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

  /** flags: ListDomainsFlags. */
  //
  // The reads below are plain functions over a .then(), not async ones: an async function that awaits a call
  // and returns a field costs a promise and up to three microtasks more per call, and scripts run these in
  // loops (BENCHMARKS.md, sequential RPC). Nothing before the call can throw.
  listDomains(flags: number = ListDomainsFlags.ACTIVE | ListDomainsFlags.INACTIVE): Promise<Domain[]> {
    return this.call('CONNECT_LIST_ALL_DOMAINS', { need_results: 1, flags }).then((r) => r.domains);
  }
  lookupDomain(name: string): Promise<Domain> {
    return this.call('DOMAIN_LOOKUP_BY_NAME', { name }).then((r) => r.dom);
  }
  lookupDomainByUuid(uuid: Buffer): Promise<Domain> {
    return this.call('DOMAIN_LOOKUP_BY_UUID', { uuid }).then((r) => r.dom);
  }
  /** flags: DomainDefineFlags. */
  async defineDomain(xml: string, flags = 0): Promise<Domain> {
    return (await this.call('DOMAIN_DEFINE_XML_FLAGS', { xml, flags })).dom;
  }
  /** flags: DomainUndefineFlags. */
  async undefineDomain(dom: Domain, flags = 0): Promise<void> {
    await this.call('DOMAIN_UNDEFINE_FLAGS', { dom, flags });
  }
  /** Starts a defined domain (flags: DomainCreateFlags); returns the handle with its new id. */
  async startDomain(dom: Domain, flags = 0): Promise<Domain> {
    return (await this.call('DOMAIN_CREATE_WITH_FLAGS', { dom, flags })).dom;
  }
  /** flags: DomainDestroyFlags. */
  async destroyDomain(dom: Domain, flags = 0): Promise<void> {
    await this.call('DOMAIN_DESTROY_FLAGS', { dom, flags });
  }
  /** flags: DomainShutdownFlags. */
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
  /** state: DomainState. */
  getState(dom: Domain): Promise<{ state: number; reason: number }> {
    return this.call('DOMAIN_GET_STATE', { dom, flags: 0 });
  }
  /**
   * Statistics of many domains in one call (virConnectGetAllDomainStats): `stats` is DomainStatsTypes, `flags`
   * GetAllDomainStatsFlags; `doms` empty means every domain the flags select.
   */
  async allDomainStats(stats: number, flags: number, doms: Domain[] = []): Promise<DomainStatsRecord[]> {
    return (await this.call('CONNECT_GET_ALL_DOMAIN_STATS', { doms, stats, flags })).retStats;
  }
  getInfo(dom: Domain): Promise<DomainInfo> {
    return this.call('DOMAIN_GET_INFO', { dom });
  }
  /** flags: DomainXmlFlags. */
  getXml(dom: Domain, flags = 0): Promise<string> {
    return this.call('DOMAIN_GET_XML_DESC', { dom, flags }).then((r) => r.xml);
  }
  isActive(dom: Domain): Promise<boolean> {
    return this.call('DOMAIN_IS_ACTIVE', { dom }).then((r) => r.active !== 0);
  }
  getAutostart(dom: Domain): Promise<boolean> {
    return this.call('DOMAIN_GET_AUTOSTART', { dom }).then((r) => r.autostart !== 0);
  }
  async setAutostart(dom: Domain, autostart: boolean): Promise<void> {
    await this.call('DOMAIN_SET_AUTOSTART', { dom, autostart: autostart ? 1 : 0 });
  }
  /** Sets custom metadata (type DomainMetadataType; ELEMENT: `metadata` is XML under namespace `uri`, prefix `key`). */
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
  getMetadata(dom: Domain, type: number, uri: string | null = null, flags = 0): Promise<string> {
    return this.call('DOMAIN_GET_METADATA', { dom, type, uri, flags }).then((r) => r.metadata);
  }
  /** source: InterfaceAddressSource. */
  async interfaceAddresses(dom: Domain, source: number, flags = 0): Promise<DomainInterface[]> {
    return (await this.call('DOMAIN_INTERFACE_ADDRESSES', { dom, source, flags })).ifaces;
  }
  /** flags (also of detachDevice, updateDevice): DomainDeviceModifyFlags. */
  async attachDevice(dom: Domain, xml: string, flags = 0): Promise<void> {
    await this.call('DOMAIN_ATTACH_DEVICE_FLAGS', { dom, xml, flags });
  }
  async detachDevice(dom: Domain, xml: string, flags = 0): Promise<void> {
    await this.call('DOMAIN_DETACH_DEVICE_FLAGS', { dom, xml, flags });
  }
  async updateDevice(dom: Domain, xml: string, flags = 0): Promise<void> {
    await this.call('DOMAIN_UPDATE_DEVICE_FLAGS', { dom, xml, flags });
  }
  /** Runs a guest-agent JSON command. timeout: seconds, or one of AgentCommandTimeout. */
  async agentCommand(
    dom: Domain,
    cmd: string,
    timeout: number = AgentCommandTimeout.DEFAULT,
    flags = 0,
  ): Promise<string | null> {
    return (await this.call('QEMU_DOMAIN_AGENT_COMMAND', { dom, cmd, timeout, flags })).result;
  }
  /** The domain's console (serial by default) as a two-way byte stream. flags: DomainConsoleFlags. */
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
   * next() or registered(); return() — e.g. leaving a for-await loop — deregisters (317). If the connection closes the
   * iterator throws ConnectionClosedError; it is not re-registered after a reconnect.
   */
  lifecycleEvents(opts: { domain?: Domain } = {}): LifecycleEventIterator {
    return lifecycleEvents(this.conn, opts.domain ?? null);
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
  /** flags: StorageVolCreateFlags. */
  async createVolume(pool: StoragePool, xml: string, flags = 0): Promise<StorageVol> {
    return (await this.call('STORAGE_VOL_CREATE_XML', { pool, xml, flags })).vol;
  }
  /** A new volume from `xml` holding a copy of `from`'s data (libvirt runs qemu-img convert: a full copy). */
  async createVolumeFrom(pool: StoragePool, xml: string, from: StorageVol, flags = 0): Promise<StorageVol> {
    return (await this.call('STORAGE_VOL_CREATE_XML_FROM', { pool, xml, clonevol: from, flags })).vol;
  }
  /** flags: StorageVolDeleteFlags. */
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
}
