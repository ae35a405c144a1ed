// libvirt's wire structures (src/remote/remote_protocol.x), each declared once as a codec.
// Handles (domain, network, pool, volume, snapshot) are what the daemon uses to find the object again:
// pass back exactly what a lookup returned.

import {
  type Infer,
  array,
  double,
  hyper,
  int,
  opaqueFixed,
  optString,
  optional,
  string,
  struct,
  uhyper,
  uint,
  union,
} from './xdr/index.js';

export const nonnullString = string();
export const remoteString = optString();
/** remote_uuid: 16 raw bytes, no length prefix. */
export const uuid = opaqueFixed(16);

export const nonnullDomain = struct({ name: nonnullString, uuid, id: int });
export const nonnullNetwork = struct({ name: nonnullString, uuid });
export const nonnullStoragePool = struct({ name: nonnullString, uuid });
export const nonnullStorageVol = struct({ pool: nonnullString, name: nonnullString, key: nonnullString });
export const nonnullDomainSnapshot = struct({ name: nonnullString, dom: nonnullDomain });

/** remote_domain / remote_network: the optional (pointer) forms. */
export const optDomain = optional(nonnullDomain);
export const optNetwork = optional(nonnullNetwork);

/** A domain handle; `id` is -1 while the domain is inactive. */
export type Domain = Infer<typeof nonnullDomain>;
export type Network = Infer<typeof nonnullNetwork>;
export type StoragePool = Infer<typeof nonnullStoragePool>;
export type StorageVol = Infer<typeof nonnullStorageVol>;
export type DomainSnapshot = Infer<typeof nonnullDomainSnapshot>;

/** remote_error, the payload of every REPLY/ERROR and server STREAM/ERROR. */
export const remoteError = struct({
  code: int,
  domain: int,
  message: remoteString,
  level: int,
  dom: optDomain,
  str1: remoteString,
  str2: remoteString,
  str3: remoteString,
  int1: int,
  int2: int,
  net: optNetwork,
});
export type RemoteError = Infer<typeof remoteError>;

/** virTypedParameterType numbers, the discriminants of remote_typed_param_value. */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;

// The boolean arm is a plain int on the wire (0/1); decoding it as int keeps odd values decodable.
export const typedParamValue = union({
  1: int,
  2: uint,
  3: hyper,
  4: uhyper,
  5: double,
  6: int,
  7: nonnullString,
});
export const typedParam = struct({ field: nonnullString, value: typedParamValue });
export type TypedParam = Infer<typeof typedParam>;

// virConnectGetAllDomainStats: one record of typed parameters per domain ("cpu.time", "net.0.rx.bytes", …).
export const CONNECT_GET_ALL_DOMAIN_STATS_MAX = 4096;
export const domainStatsRecord = struct({
  dom: nonnullDomain,
  params: array(typedParam, CONNECT_GET_ALL_DOMAIN_STATS_MAX),
});
export type DomainStatsRecord = Infer<typeof domainStatsRecord>;

// virDomainInterfaceAddresses.
export const DOMAIN_INTERFACE_MAX = 2048;
export const DOMAIN_IP_ADDR_MAX = 2048;
export const domainIpAddr = struct({ type: int, addr: nonnullString, prefix: uint });
export const domainInterface = struct({
  name: nonnullString,
  hwaddr: remoteString,
  addrs: array(domainIpAddr, DOMAIN_IP_ADDR_MAX),
});
export type DomainIpAddr = Infer<typeof domainIpAddr>;
export type DomainInterface = Infer<typeof domainInterface>;

// virNetworkGetDHCPLeases.
export const NETWORK_DHCP_LEASES_MAX = 65536;
export const networkDhcpLease = struct({
  iface: nonnullString,
  expirytime: hyper,
  type: int,
  mac: remoteString,
  iaid: remoteString,
  ipaddr: nonnullString,
  prefix: uint,
  hostname: remoteString,
  clientid: remoteString,
});
export type NetworkDhcpLease = Infer<typeof networkDhcpLease>;

// List limits from remote_protocol.x.
export const DOMAIN_LIST_MAX = 16384;
export const NETWORK_LIST_MAX = 16384;
export const STORAGE_POOL_LIST_MAX = 16384;
export const STORAGE_VOL_LIST_MAX = 16384;
export const DOMAIN_SNAPSHOT_LIST_MAX = 16384;
export const AUTH_TYPE_LIST_MAX = 20;

/** remote_auth_type. */
export const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** VIR_DRV_FEATURE_* numbers asked with CONNECT_SUPPORTS_FEATURE. */
export const Feature = {
  FD_PASSING: 8,
  PROGRAM_KEEPALIVE: 10,
  TYPED_PARAM_STRING: 9,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
} as const;

// Flags and enums of libvirt's public API (include/libvirt/libvirt-domain.h, libvirt-storage.h, libvirt-host.h,
// libvirt-qemu.h), under libvirt's names without the common prefix: DomainUndefineFlags.NVRAM is
// VIR_DOMAIN_UNDEFINE_NVRAM. Values are part of libvirt's stable ABI; types.test.ts pins each against the header.

/** virConnectFlags: how CONNECT_OPEN opens the connection. */
export const ConnectFlags = { RO: 1 } as const;

/** virDomainState: what DOMAIN_GET_STATE and DOMAIN_GET_INFO report. */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** virDomainEventID: the event a CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY subscribes to. */
export const DomainEventId = { LIFECYCLE: 0 } as const;

/** virDomainEventType: the `event` of a lifecycle event. */
export const LifecycleEventType = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** virConnectListAllDomainsFlags (the ones roost uses). */
export const ListDomainsFlags = { ACTIVE: 1, INACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8 } as const;

/** virDomainStatsTypes: which groups of statistics CONNECT_GET_ALL_DOMAIN_STATS returns. */
export const DomainStatsTypes = {
  STATE: 1,
  CPU_TOTAL: 2,
  BALLOON: 4,
  VCPU: 8,
  INTERFACE: 16,
  BLOCK: 32,
  PERF: 64,
  IOTHREAD: 128,
  MEMORY: 256,
  DIRTYRATE: 512,
  VM: 1024,
} as const;

/** virConnectGetAllDomainStatsFlags (the ones roost uses): which domains, and NOWAIT to skip a busy one's job. */
export const GetAllDomainStatsFlags = {
  ACTIVE: 1,
  INACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  RUNNING: 16,
  PAUSED: 32,
  SHUTOFF: 64,
  OTHER: 128,
  NOWAIT: 1 << 29,
} as const;

/** virDomainDefineFlags. VALIDATE: check the XML against libvirt's schema before defining. */
export const DomainDefineFlags = { VALIDATE: 1 } as const;

/** virDomainUndefineFlagsValues. */
export const DomainUndefineFlags = {
  MANAGED_SAVE: 1,
  SNAPSHOTS_METADATA: 2,
  NVRAM: 4,
  KEEP_NVRAM: 8,
  CHECKPOINTS_METADATA: 16,
  TPM: 32,
  KEEP_TPM: 64,
} as const;

/** virDomainCreateFlags: how DOMAIN_CREATE_WITH_FLAGS starts a defined domain. */
export const DomainCreateFlags = {
  NONE: 0,
  START_PAUSED: 1,
  START_AUTODESTROY: 2,
  START_BYPASS_CACHE: 4,
  START_FORCE_BOOT: 8,
  START_VALIDATE: 16,
  START_RESET_NVRAM: 32,
} as const;

/** virDomainDestroyFlagsValues. REMOVE_LOGS: also delete the domain's QEMU log file. */
export const DomainDestroyFlags = { DEFAULT: 0, GRACEFUL: 1, REMOVE_LOGS: 2 } as const;

/** virDomainShutdownFlagValues: which way to ask the guest (DEFAULT: the hypervisor picks). */
export const DomainShutdownFlags = {
  DEFAULT: 0,
  ACPI_POWER_BTN: 1,
  GUEST_AGENT: 2,
  INITCTL: 4,
  SIGNAL: 8,
  PARAVIRT: 16,
} as const;

/** virDomainXMLFlags: what DOMAIN_GET_XML_DESC returns. */
export const DomainXmlFlags = { SECURE: 1, INACTIVE: 2, UPDATE_CPU: 4, MIGRATABLE: 8 } as const;

/** virDomainDeviceModifyFlags (its first three are virDomainModificationImpact's AFFECT_*). */
export const DomainDeviceModifyFlags = { CURRENT: 0, LIVE: 1, CONFIG: 2, FORCE: 4 } as const;

/** virDomainSnapshotCreateFlags. DISK_ONLY: no memory; QUIESCE: freeze filesystems through the guest agent first. */
export const DomainSnapshotCreateFlags = {
  REDEFINE: 1,
  CURRENT: 2,
  NO_METADATA: 4,
  HALT: 8,
  DISK_ONLY: 16,
  REUSE_EXT: 32,
  QUIESCE: 64,
  ATOMIC: 128,
  LIVE: 256,
  VALIDATE: 512,
} as const;

/** virDomainSnapshotRevertFlags: the state to leave the domain in after a revert, when not the snapshot's own. */
export const DomainSnapshotRevertFlags = { RUNNING: 1, PAUSED: 2, FORCE: 4, RESET_NVRAM: 8 } as const;

/** virDomainSnapshotDeleteFlags. */
export const DomainSnapshotDeleteFlags = { CHILDREN: 1, METADATA_ONLY: 2, CHILDREN_ONLY: 4 } as const;

/** virDomainConsoleFlags. FORCE: take the console from another client; SAFE: only if the driver can do so safely. */
export const DomainConsoleFlags = { FORCE: 1, SAFE: 2 } as const;

/** virDomainMetadataType. ELEMENT: custom XML under a namespace URI. */
export const DomainMetadataType = { DESCRIPTION: 0, TITLE: 1, ELEMENT: 2 } as const;

/** virDomainInterfaceAddressesSource. */
export const InterfaceAddressSource = { LEASE: 0, AGENT: 1, ARP: 2 } as const;

/** virDomainQemuAgentCommandTimeoutValues (libvirt-qemu.h); a positive timeout is in seconds. */
export const AgentCommandTimeout = { BLOCK: -2, DEFAULT: -1, NOWAIT: 0 } as const;

/** virStorageVolCreateFlags. */
export const StorageVolCreateFlags = { PREALLOC_METADATA: 1, REFLINK: 2, VALIDATE: 4 } as const;

/** virStorageVolDeleteFlags. */
export const StorageVolDeleteFlags = { NORMAL: 0, ZEROED: 1, WITH_SNAPSHOTS: 2 } as const;

/** virStorageVolUploadFlags. SPARSE_STREAM: the stream may carry holes. */
export const StorageVolUploadFlags = { SPARSE_STREAM: 1 } as const;

/** virStorageVolDownloadFlags. SPARSE_STREAM: the stream may carry holes. */
export const StorageVolDownloadFlags = { SPARSE_STREAM: 1 } as const;

/** Formats a 16-byte UUID as libvirt prints it. */
export function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Parses "xxxxxxxx-xxxx-…" (dashes optional) into the 16 bytes the wire wants. */
export function parseUuid(text: string): Buffer {
  const hex = text.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`not a UUID: ${text}`);
  return Buffer.from(hex, 'hex');
}
