// roost's library entry. The libvirt client is usable on its own: `const lv = await connect()`.
export { connect, type ConnectOptions } from './libvirt/connect.js';
export {
  openClient,
  LibvirtClient,
  type OpenClientOptions,
  type LifecycleEvent,
  type DomainInfo,
} from './libvirt/api.js';
/** What openClient talks over: a net.Socket, a Duplex, or anything with this much of a socket. */
export type { Transport } from './libvirt/rpc/transport.js';
export {
  LibvirtError,
  ConnectionClosedError,
  CallTimeoutError,
  ProtocolError,
  StreamClosedError,
  isNotFound,
  VirErrorCode,
} from './libvirt/errors.js';
export { parseUri, defaultUri, UriError, type LibvirtUri } from './libvirt/uri.js';
export { DaemonUnavailableError, SocketConnectError } from './libvirt/errors.js';
export { SshTunnelError } from './libvirt/dialers/ssh.js';
export * from './libvirt/types.js';
export { detectAccel, type Accel, type AccelDecision } from './host/accel.js';
