import { describe, expect, it } from 'vitest';
import {
  AgentCommandTimeout,
  ConnectFlags,
  DomainConsoleFlags,
  DomainCreateFlags,
  DomainDefineFlags,
  DomainDestroyFlags,
  DomainDeviceModifyFlags,
  DomainEventId,
  DomainMetadataType,
  DomainShutdownFlags,
  DomainSnapshotCreateFlags,
  DomainSnapshotDeleteFlags,
  DomainSnapshotRevertFlags,
  DomainState,
  DomainStatsTypes,
  GetAllDomainStatsFlags,
  DomainUndefineFlags,
  DomainXmlFlags,
  InterfaceAddressSource,
  LifecycleEventType,
  ListDomainsFlags,
  StorageVolCreateFlags,
  StorageVolDeleteFlags,
  StorageVolDownloadFlags,
  StorageVolUploadFlags,
  domainInterface,
  formatUuid,
  networkDhcpLease,
  nonnullDomain,
  nonnullDomainSnapshot,
  nonnullNetwork,
  nonnullStoragePool,
  nonnullStorageVol,
  optDomain,
  parseUuid,
  remoteError,
  typedParam,
} from './types.js';
import { type Codec, decode, encode } from './xdr/index.js';

const uuid = parseUuid('8f0e6b8c-3b2a-4c1d-9e8f-0123456789ab');
const dom = { name: 'vm1', uuid, id: 3 };

function roundTrip<T>(codec: Codec<T>, value: T): Buffer {
  const bytes = encode(codec, value);
  expect(decode(codec, bytes)).toEqual(value);
  return bytes;
}

describe('libvirt structures', () => {
  it('nonnull_domain is name, 16 raw uuid bytes, id', () => {
    const bytes = roundTrip(nonnullDomain, dom);
    expect(bytes.length).toBe(4 + 4 + 16 + 4);
    expect(bytes.subarray(8, 24)).toEqual(uuid);
    expect(bytes.readInt32BE(24)).toBe(3);
    roundTrip(nonnullDomain, { ...dom, id: -1 });
  });

  it('round-trips the other handles', () => {
    roundTrip(nonnullNetwork, { name: 'default', uuid });
    roundTrip(nonnullStoragePool, { name: 'images', uuid });
    roundTrip(nonnullStorageVol, { pool: 'images', name: 'a.qcow2', key: '/home/u/a.qcow2' });
    roundTrip(nonnullDomainSnapshot, { name: 'snap1', dom });
    roundTrip(optDomain, null);
    roundTrip(optDomain, dom);
  });

  it('round-trips remote_error with and without optional parts', () => {
    const base = {
      code: 42,
      domain: 10,
      message: "Domain not found: no domain with matching name 'x'",
      level: 2,
      dom: null,
      str1: 'Domain not found',
      str2: null,
      str3: null,
      int1: -1,
      int2: -1,
      net: null,
    };
    roundTrip(remoteError, base);
    roundTrip(remoteError, { ...base, message: null, dom, net: { name: 'default', uuid } });
  });

  it('round-trips every typed param arm', () => {
    const values = [
      { type: 1, value: -1 },
      { type: 2, value: 7 },
      { type: 3, value: -5n },
      { type: 4, value: 5n },
      { type: 5, value: 0.5 },
      { type: 6, value: 1 },
      { type: 7, value: 'text' },
    ] as const;
    for (const value of values) roundTrip(typedParam, { field: 'f', value });
  });

  it('round-trips interface addresses and DHCP leases', () => {
    roundTrip(domainInterface, {
      name: 'vnet0',
      hwaddr: '52:54:00:12:34:56',
      addrs: [
        { type: 0, addr: '192.168.122.10', prefix: 24 },
        { type: 1, addr: 'fe80::1', prefix: 64 },
      ],
    });
    roundTrip(domainInterface, { name: 'lo', hwaddr: null, addrs: [] });
    roundTrip(networkDhcpLease, {
      iface: 'virbr0',
      expirytime: 1700000000n,
      type: 0,
      mac: '52:54:00:12:34:56',
      iaid: null,
      ipaddr: '192.168.122.10',
      prefix: 24,
      hostname: 'guest',
      clientid: null,
    });
  });

  it('formats and parses UUIDs', () => {
    expect(formatUuid(uuid)).toBe('8f0e6b8c-3b2a-4c1d-9e8f-0123456789ab');
    expect(() => parseUuid('nope')).toThrow(TypeError);
  });
});

// Each enum's values as libvirt's public headers spell them (include/libvirt/libvirt-domain.h, libvirt-host.h,
// libvirt-storage.h, libvirt-qemu.h), copied from there by name: a typo in types.ts fails here.
const HEADER: Record<string, number> = {
  VIR_CONNECT_RO: 1 << 0,
  VIR_DOMAIN_NOSTATE: 0,
  VIR_DOMAIN_RUNNING: 1,
  VIR_DOMAIN_BLOCKED: 2,
  VIR_DOMAIN_PAUSED: 3,
  VIR_DOMAIN_SHUTDOWN: 4,
  VIR_DOMAIN_SHUTOFF: 5,
  VIR_DOMAIN_CRASHED: 6,
  VIR_DOMAIN_PMSUSPENDED: 7,
  VIR_DOMAIN_EVENT_ID_LIFECYCLE: 0,
  VIR_DOMAIN_EVENT_DEFINED: 0,
  VIR_DOMAIN_EVENT_UNDEFINED: 1,
  VIR_DOMAIN_EVENT_STARTED: 2,
  VIR_DOMAIN_EVENT_SUSPENDED: 3,
  VIR_DOMAIN_EVENT_RESUMED: 4,
  VIR_DOMAIN_EVENT_STOPPED: 5,
  VIR_DOMAIN_EVENT_SHUTDOWN: 6,
  VIR_DOMAIN_EVENT_PMSUSPENDED: 7,
  VIR_DOMAIN_EVENT_CRASHED: 8,
  VIR_CONNECT_LIST_DOMAINS_ACTIVE: 1 << 0,
  VIR_CONNECT_LIST_DOMAINS_INACTIVE: 1 << 1,
  VIR_CONNECT_LIST_DOMAINS_PERSISTENT: 1 << 2,
  VIR_CONNECT_LIST_DOMAINS_TRANSIENT: 1 << 3,
  VIR_DOMAIN_STATS_STATE: 1 << 0,
  VIR_DOMAIN_STATS_CPU_TOTAL: 1 << 1,
  VIR_DOMAIN_STATS_BALLOON: 1 << 2,
  VIR_DOMAIN_STATS_VCPU: 1 << 3,
  VIR_DOMAIN_STATS_INTERFACE: 1 << 4,
  VIR_DOMAIN_STATS_BLOCK: 1 << 5,
  VIR_DOMAIN_STATS_PERF: 1 << 6,
  VIR_DOMAIN_STATS_IOTHREAD: 1 << 7,
  VIR_DOMAIN_STATS_MEMORY: 1 << 8,
  VIR_DOMAIN_STATS_DIRTYRATE: 1 << 9,
  VIR_DOMAIN_STATS_VM: 1 << 10,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE: 1 << 0,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE: 1 << 1,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT: 1 << 2,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT: 1 << 3,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING: 1 << 4,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED: 1 << 5,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF: 1 << 6,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER: 1 << 7,
  VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT: 1 << 29,
  VIR_DOMAIN_DEFINE_VALIDATE: 1 << 0,
  VIR_DOMAIN_UNDEFINE_MANAGED_SAVE: 1 << 0,
  VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA: 1 << 1,
  VIR_DOMAIN_UNDEFINE_NVRAM: 1 << 2,
  VIR_DOMAIN_UNDEFINE_KEEP_NVRAM: 1 << 3,
  VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA: 1 << 4,
  VIR_DOMAIN_UNDEFINE_TPM: 1 << 5,
  VIR_DOMAIN_UNDEFINE_KEEP_TPM: 1 << 6,
  VIR_DOMAIN_NONE: 0,
  VIR_DOMAIN_START_PAUSED: 1 << 0,
  VIR_DOMAIN_START_AUTODESTROY: 1 << 1,
  VIR_DOMAIN_START_BYPASS_CACHE: 1 << 2,
  VIR_DOMAIN_START_FORCE_BOOT: 1 << 3,
  VIR_DOMAIN_START_VALIDATE: 1 << 4,
  VIR_DOMAIN_START_RESET_NVRAM: 1 << 5,
  VIR_DOMAIN_DESTROY_DEFAULT: 0,
  VIR_DOMAIN_DESTROY_GRACEFUL: 1 << 0,
  VIR_DOMAIN_DESTROY_REMOVE_LOGS: 1 << 1,
  VIR_DOMAIN_SHUTDOWN_DEFAULT: 0,
  VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN: 1 << 0,
  VIR_DOMAIN_SHUTDOWN_GUEST_AGENT: 1 << 1,
  VIR_DOMAIN_SHUTDOWN_INITCTL: 1 << 2,
  VIR_DOMAIN_SHUTDOWN_SIGNAL: 1 << 3,
  VIR_DOMAIN_SHUTDOWN_PARAVIRT: 1 << 4,
  VIR_DOMAIN_XML_SECURE: 1 << 0,
  VIR_DOMAIN_XML_INACTIVE: 1 << 1,
  VIR_DOMAIN_XML_UPDATE_CPU: 1 << 2,
  VIR_DOMAIN_XML_MIGRATABLE: 1 << 3,
  VIR_DOMAIN_DEVICE_MODIFY_CURRENT: 0,
  VIR_DOMAIN_DEVICE_MODIFY_LIVE: 1 << 0,
  VIR_DOMAIN_DEVICE_MODIFY_CONFIG: 1 << 1,
  VIR_DOMAIN_DEVICE_MODIFY_FORCE: 1 << 2,
  VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE: 1 << 0,
  VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT: 1 << 1,
  VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA: 1 << 2,
  VIR_DOMAIN_SNAPSHOT_CREATE_HALT: 1 << 3,
  VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY: 1 << 4,
  VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT: 1 << 5,
  VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE: 1 << 6,
  VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC: 1 << 7,
  VIR_DOMAIN_SNAPSHOT_CREATE_LIVE: 1 << 8,
  VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE: 1 << 9,
  VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING: 1 << 0,
  VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED: 1 << 1,
  VIR_DOMAIN_SNAPSHOT_REVERT_FORCE: 1 << 2,
  VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM: 1 << 3,
  VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN: 1 << 0,
  VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY: 1 << 1,
  VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY: 1 << 2,
  VIR_DOMAIN_CONSOLE_FORCE: 1 << 0,
  VIR_DOMAIN_CONSOLE_SAFE: 1 << 1,
  VIR_DOMAIN_METADATA_DESCRIPTION: 0,
  VIR_DOMAIN_METADATA_TITLE: 1,
  VIR_DOMAIN_METADATA_ELEMENT: 2,
  VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE: 0,
  VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT: 1,
  VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP: 2,
  VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK: -2,
  VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT: -1,
  VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT: 0,
  VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA: 1 << 0,
  VIR_STORAGE_VOL_CREATE_REFLINK: 1 << 1,
  VIR_STORAGE_VOL_CREATE_VALIDATE: 1 << 2,
  VIR_STORAGE_VOL_DELETE_NORMAL: 0,
  VIR_STORAGE_VOL_DELETE_ZEROED: 1 << 0,
  VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS: 1 << 1,
  VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM: 1 << 0,
  VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM: 1 << 0,
};

// Our name for each enum, and the prefix libvirt puts before its members.
const ENUMS: [string, Record<string, number>, string][] = [
  ['ConnectFlags', ConnectFlags, 'VIR_CONNECT_'],
  ['DomainState', DomainState, 'VIR_DOMAIN_'],
  ['DomainEventId', DomainEventId, 'VIR_DOMAIN_EVENT_ID_'],
  ['LifecycleEventType', LifecycleEventType, 'VIR_DOMAIN_EVENT_'],
  ['ListDomainsFlags', ListDomainsFlags, 'VIR_CONNECT_LIST_DOMAINS_'],
  ['DomainStatsTypes', DomainStatsTypes, 'VIR_DOMAIN_STATS_'],
  ['GetAllDomainStatsFlags', GetAllDomainStatsFlags, 'VIR_CONNECT_GET_ALL_DOMAINS_STATS_'],
  ['DomainDefineFlags', DomainDefineFlags, 'VIR_DOMAIN_DEFINE_'],
  ['DomainUndefineFlags', DomainUndefineFlags, 'VIR_DOMAIN_UNDEFINE_'],
  ['DomainCreateFlags', DomainCreateFlags, 'VIR_DOMAIN_'],
  ['DomainDestroyFlags', DomainDestroyFlags, 'VIR_DOMAIN_DESTROY_'],
  ['DomainShutdownFlags', DomainShutdownFlags, 'VIR_DOMAIN_SHUTDOWN_'],
  ['DomainXmlFlags', DomainXmlFlags, 'VIR_DOMAIN_XML_'],
  ['DomainDeviceModifyFlags', DomainDeviceModifyFlags, 'VIR_DOMAIN_DEVICE_MODIFY_'],
  ['DomainSnapshotCreateFlags', DomainSnapshotCreateFlags, 'VIR_DOMAIN_SNAPSHOT_CREATE_'],
  ['DomainSnapshotRevertFlags', DomainSnapshotRevertFlags, 'VIR_DOMAIN_SNAPSHOT_REVERT_'],
  ['DomainSnapshotDeleteFlags', DomainSnapshotDeleteFlags, 'VIR_DOMAIN_SNAPSHOT_DELETE_'],
  ['DomainConsoleFlags', DomainConsoleFlags, 'VIR_DOMAIN_CONSOLE_'],
  ['DomainMetadataType', DomainMetadataType, 'VIR_DOMAIN_METADATA_'],
  ['InterfaceAddressSource', InterfaceAddressSource, 'VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_'],
  ['AgentCommandTimeout', AgentCommandTimeout, 'VIR_DOMAIN_QEMU_AGENT_COMMAND_'],
  ['StorageVolCreateFlags', StorageVolCreateFlags, 'VIR_STORAGE_VOL_CREATE_'],
  ['StorageVolDeleteFlags', StorageVolDeleteFlags, 'VIR_STORAGE_VOL_DELETE_'],
  ['StorageVolUploadFlags', StorageVolUploadFlags, 'VIR_STORAGE_VOL_UPLOAD_'],
  ['StorageVolDownloadFlags', StorageVolDownloadFlags, 'VIR_STORAGE_VOL_DOWNLOAD_'],
];

describe("libvirt's flags and enums", () => {
  it.each(ENUMS)("%s has the values of libvirt's header", (_name, values, prefix) => {
    for (const [member, value] of Object.entries(values)) {
      expect({ name: prefix + member, value }).toEqual({
        name: prefix + member,
        value: HEADER[prefix + member],
      });
    }
  });

  it('covers every header value listed here', () => {
    const ours = new Set(ENUMS.flatMap(([, values, prefix]) => Object.keys(values).map((m) => prefix + m)));
    expect(Object.keys(HEADER).filter((name) => !ours.has(name))).toEqual([]);
  });
});
