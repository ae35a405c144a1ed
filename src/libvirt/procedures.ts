// The procedures roost calls, one line each: program, number, argument codec, reply codec.
// Numbers and layouts follow src/remote/remote_protocol.x and src/remote/qemu_protocol.x (they never
// change once released). `stream` marks calls whose serial carries a data stream after the reply.

import { Program } from './rpc/packet.js';
import type { EventMessage, Procedure } from './rpc/procedure.js';
import type { StreamMode } from './rpc/stream.js';
import {
  AUTH_TYPE_LIST_MAX,
  DOMAIN_INTERFACE_MAX,
  DOMAIN_LIST_MAX,
  DOMAIN_SNAPSHOT_LIST_MAX,
  NETWORK_DHCP_LEASES_MAX,
  NETWORK_LIST_MAX,
  STORAGE_POOL_LIST_MAX,
  STORAGE_VOL_LIST_MAX,
  domainInterface,
  domainStatsRecord,
  networkDhcpLease,
  nonnullDomain as dom,
  nonnullDomainSnapshot as snap,
  nonnullNetwork as net,
  nonnullStoragePool as pool,
  nonnullStorageVol as vol,
  nonnullString as str,
  optDomain,
  remoteString as optStr,
  uuid,
} from './types.js';
import { type Codec, type Infer, array, empty, int, struct, uhyper, uint } from './xdr/index.js';

export type { EventMessage, Procedure };

function remote<A, R>(proc: number, args: Codec<A>, ret: Codec<R>, stream?: StreamMode): Procedure<A, R> {
  return { prog: Program.REMOTE, proc, args, ret, ...(stream ? { stream } : {}) };
}

function qemu<A, R>(proc: number, args: Codec<A>, ret: Codec<R>): Procedure<A, R> {
  return { prog: Program.QEMU, proc, args, ret };
}

// Argument shapes shared by many procedures.
const byDom = struct({ dom });
const domFlags = struct({ dom, flags: uint });
const domXmlFlags = struct({ dom, xml: str, flags: uint });
const snapFlags = struct({ snap, flags: uint });
const byPool = struct({ pool });
const poolFlags = struct({ pool, flags: uint });
const volFlags = struct({ vol, flags: uint });
const byVol = struct({ vol });
const byNet = struct({ net });
const byName = struct({ name: str });
const xmlFlags = struct({ xml: str, flags: uint });
const listArgs = struct({ need_results: int, flags: uint });
const volStreamArgs = struct({ vol, offset: uhyper, length: uhyper, flags: uint });

const table = {
  // Connection and handshake.
  CONNECT_OPEN: remote(1, struct({ name: optStr, flags: uint }), empty),
  CONNECT_CLOSE: remote(2, empty, empty),
  CONNECT_GET_VERSION: remote(4, empty, struct({ hv_ver: uhyper })),
  CONNECT_GET_CAPABILITIES: remote(7, empty, struct({ capabilities: str })),
  CONNECT_GET_HOSTNAME: remote(59, empty, struct({ hostname: str })),
  CONNECT_SUPPORTS_FEATURE: remote(60, struct({ feature: int }), struct({ supported: int })),
  AUTH_LIST: remote(66, empty, struct({ types: array(int, AUTH_TYPE_LIST_MAX) })),
  AUTH_POLKIT: remote(70, empty, struct({ complete: int })),
  CONNECT_GET_URI: remote(110, empty, struct({ uri: str })),
  CONNECT_GET_LIB_VERSION: remote(157, empty, struct({ lib_ver: uhyper })),
  CONNECT_GET_DOMAIN_CAPABILITIES: remote(
    342,
    struct({ emulatorbin: optStr, arch: optStr, machine: optStr, virttype: optStr, flags: uint }),
    struct({ capabilities: str }),
  ),

  // Domains.
  CONNECT_LIST_ALL_DOMAINS: remote(
    273,
    listArgs,
    struct({ domains: array(dom, DOMAIN_LIST_MAX), ret: uint }),
  ),
  CONNECT_GET_ALL_DOMAIN_STATS: remote(
    344,
    struct({ doms: array(dom, DOMAIN_LIST_MAX), stats: uint, flags: uint }),
    struct({ retStats: array(domainStatsRecord, DOMAIN_LIST_MAX) }),
  ),
  DOMAIN_LOOKUP_BY_NAME: remote(23, byName, struct({ dom })),
  DOMAIN_LOOKUP_BY_UUID: remote(24, struct({ uuid }), struct({ dom })),
  DOMAIN_DEFINE_XML_FLAGS: remote(350, xmlFlags, struct({ dom })),
  DOMAIN_UNDEFINE_FLAGS: remote(231, domFlags, empty),
  DOMAIN_CREATE_WITH_FLAGS: remote(196, domFlags, struct({ dom })),
  DOMAIN_DESTROY_FLAGS: remote(234, domFlags, empty),
  DOMAIN_SHUTDOWN_FLAGS: remote(258, domFlags, empty),
  DOMAIN_REBOOT: remote(27, domFlags, empty),
  DOMAIN_SUSPEND: remote(34, byDom, empty),
  DOMAIN_RESUME: remote(28, byDom, empty),
  DOMAIN_GET_STATE: remote(212, domFlags, struct({ state: int, reason: int })),
  // `unsigned char` and `unsigned short` still travel as 4-byte unsigned ints.
  DOMAIN_GET_INFO: remote(
    16,
    byDom,
    struct({ state: uint, maxMem: uhyper, memory: uhyper, nrVirtCpu: uint, cpuTime: uhyper }),
  ),
  DOMAIN_GET_XML_DESC: remote(14, domFlags, struct({ xml: str })),
  DOMAIN_IS_ACTIVE: remote(150, byDom, struct({ active: int })),
  DOMAIN_IS_PERSISTENT: remote(151, byDom, struct({ persistent: int })),
  DOMAIN_GET_AUTOSTART: remote(15, byDom, struct({ autostart: int })),
  DOMAIN_SET_AUTOSTART: remote(29, struct({ dom, autostart: int }), empty),
  DOMAIN_INTERFACE_ADDRESSES: remote(
    353,
    struct({ dom, source: uint, flags: uint }),
    struct({ ifaces: array(domainInterface, DOMAIN_INTERFACE_MAX) }),
  ),
  DOMAIN_ATTACH_DEVICE_FLAGS: remote(160, domXmlFlags, empty),
  DOMAIN_DETACH_DEVICE_FLAGS: remote(161, domXmlFlags, empty),
  DOMAIN_UPDATE_DEVICE_FLAGS: remote(174, domXmlFlags, empty),
  DOMAIN_SET_METADATA: remote(
    264,
    struct({ dom, type: int, metadata: optStr, key: optStr, uri: optStr, flags: uint }),
    empty,
  ),
  DOMAIN_GET_METADATA: remote(
    265,
    struct({ dom, type: int, uri: optStr, flags: uint }),
    struct({ metadata: str }),
  ),
  DOMAIN_BLOCK_RESIZE: remote(251, struct({ dom, disk: str, size: uhyper, flags: uint }), empty),
  DOMAIN_OPEN_CONSOLE: remote(201, struct({ dom, dev_name: optStr, flags: uint }), empty, 'both'),

  // Snapshots.
  DOMAIN_SNAPSHOT_CREATE_XML: remote(185, struct({ dom, xml_desc: str, flags: uint }), struct({ snap })),
  DOMAIN_SNAPSHOT_GET_XML_DESC: remote(186, snapFlags, struct({ xml: str })),
  DOMAIN_SNAPSHOT_LOOKUP_BY_NAME: remote(189, struct({ dom, name: str, flags: uint }), struct({ snap })),
  DOMAIN_HAS_CURRENT_SNAPSHOT: remote(190, domFlags, struct({ result: int })),
  DOMAIN_SNAPSHOT_CURRENT: remote(191, domFlags, struct({ snap })),
  DOMAIN_REVERT_TO_SNAPSHOT: remote(192, snapFlags, empty),
  DOMAIN_SNAPSHOT_DELETE: remote(193, snapFlags, empty),
  DOMAIN_LIST_ALL_SNAPSHOTS: remote(
    274,
    struct({ dom, need_results: int, flags: uint }),
    struct({ snapshots: array(snap, DOMAIN_SNAPSHOT_LIST_MAX), ret: int }),
  ),

  // Events (new-style callbacks; need feature 14). The event itself is in `events` below.
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: remote(
    316,
    struct({ eventID: int, dom: optDomain }),
    struct({ callbackID: int }),
  ),
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: remote(317, struct({ callbackID: int }), empty),

  // Storage pools.
  CONNECT_LIST_ALL_STORAGE_POOLS: remote(
    281,
    listArgs,
    struct({ pools: array(pool, STORAGE_POOL_LIST_MAX), ret: uint }),
  ),
  STORAGE_POOL_LOOKUP_BY_NAME: remote(84, byName, struct({ pool })),
  STORAGE_POOL_LOOKUP_BY_VOLUME: remote(86, byVol, struct({ pool })),
  STORAGE_POOL_CREATE_XML: remote(76, xmlFlags, struct({ pool })),
  STORAGE_POOL_DEFINE_XML: remote(77, xmlFlags, struct({ pool })),
  STORAGE_POOL_CREATE: remote(78, poolFlags, empty),
  STORAGE_POOL_BUILD: remote(79, poolFlags, empty),
  STORAGE_POOL_DESTROY: remote(80, byPool, empty),
  STORAGE_POOL_UNDEFINE: remote(82, byPool, empty),
  STORAGE_POOL_REFRESH: remote(83, poolFlags, empty),
  STORAGE_POOL_GET_INFO: remote(
    87,
    byPool,
    struct({ state: uint, capacity: uhyper, allocation: uhyper, available: uhyper }),
  ),
  STORAGE_POOL_GET_XML_DESC: remote(88, poolFlags, struct({ xml: str })),
  STORAGE_POOL_GET_AUTOSTART: remote(89, byPool, struct({ autostart: int })),
  STORAGE_POOL_SET_AUTOSTART: remote(90, struct({ pool, autostart: int }), empty),
  STORAGE_POOL_IS_ACTIVE: remote(154, byPool, struct({ active: int })),
  STORAGE_POOL_LIST_ALL_VOLUMES: remote(
    282,
    struct({ pool, need_results: int, flags: uint }),
    struct({ vols: array(vol, STORAGE_VOL_LIST_MAX), ret: uint }),
  ),

  // Storage volumes.
  STORAGE_VOL_CREATE_XML: remote(93, struct({ pool, xml: str, flags: uint }), struct({ vol })),
  STORAGE_VOL_CREATE_XML_FROM: remote(
    125,
    struct({ pool, xml: str, clonevol: vol, flags: uint }),
    struct({ vol }),
  ),
  STORAGE_VOL_DELETE: remote(94, volFlags, empty),
  STORAGE_VOL_LOOKUP_BY_NAME: remote(95, struct({ pool, name: str }), struct({ vol })),
  STORAGE_VOL_LOOKUP_BY_KEY: remote(96, struct({ key: str }), struct({ vol })),
  STORAGE_VOL_LOOKUP_BY_PATH: remote(97, struct({ path: str }), struct({ vol })),
  // `char type` travels as a 4-byte int.
  STORAGE_VOL_GET_INFO: remote(98, byVol, struct({ type: int, capacity: uhyper, allocation: uhyper })),
  STORAGE_VOL_GET_XML_DESC: remote(99, volFlags, struct({ xml: str })),
  STORAGE_VOL_GET_PATH: remote(100, byVol, struct({ name: str })),
  STORAGE_VOL_RESIZE: remote(260, struct({ vol, capacity: uhyper, flags: uint }), empty),
  STORAGE_VOL_UPLOAD: remote(208, volStreamArgs, empty, 'write'),
  STORAGE_VOL_DOWNLOAD: remote(209, volStreamArgs, empty, 'read'),

  // Networks.
  CONNECT_LIST_ALL_NETWORKS: remote(283, listArgs, struct({ nets: array(net, NETWORK_LIST_MAX), ret: uint })),
  NETWORK_LOOKUP_BY_NAME: remote(46, byName, struct({ net })),
  NETWORK_LOOKUP_BY_UUID: remote(47, struct({ uuid }), struct({ net })),
  NETWORK_GET_XML_DESC: remote(43, struct({ net, flags: uint }), struct({ xml: str })),
  NETWORK_IS_ACTIVE: remote(152, byNet, struct({ active: int })),
  NETWORK_CREATE: remote(39, byNet, empty),
  NETWORK_GET_AUTOSTART: remote(44, byNet, struct({ autostart: int })),
  NETWORK_GET_DHCP_LEASES: remote(
    341,
    struct({ net, mac: optStr, need_results: int, flags: uint }),
    struct({ leases: array(networkDhcpLease, NETWORK_DHCP_LEASES_MAX), ret: uint }),
  ),

  // QEMU program.
  QEMU_DOMAIN_AGENT_COMMAND: qemu(
    3,
    struct({ dom, cmd: str, timeout: int, flags: uint }),
    struct({ result: optStr }),
  ),
} as const;

export type ProcedureName = keyof typeof table;
export type ArgsOf<N extends ProcedureName> = Infer<(typeof table)[N]['args']>;
export type RetOf<N extends ProcedureName> = Infer<(typeof table)[N]['ret']>;

/** The table, typed so that `procedures[name]` is a Procedure of that name's argument and reply, even for a generic name. */
export const procedures: { readonly [N in ProcedureName]: Procedure<ArgsOf<N>, RetOf<N>> } = table;

/** Event MESSAGE packets: routed by (prog, proc), decoded with `msg`. */
export const events = {
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: remoteEvent(
    318,
    struct({ callbackID: int, dom, event: int, detail: int }),
  ),
} as const;

function remoteEvent<M>(proc: number, msg: Codec<M>): EventMessage<M> {
  return { prog: Program.REMOTE, proc, msg };
}

export type LifecycleEventMessage = Infer<typeof events.DOMAIN_EVENT_CALLBACK_LIFECYCLE.msg>;
