// dial(uri): a connected byte stream to the libvirt daemon that `uri` names, whatever the transport.
// The RPC client (connect.ts) only ever sees a Duplex; everything transport-specific stays in this folder.

import type { Duplex } from 'node:stream';
import type { LibvirtUri } from '../uri.js';
import { dialSsh, type SshDialOptions } from './ssh.js';
import { dialUnix, type UnixDialOptions } from './unix.js';

export type DialOptions = UnixDialOptions & SshDialOptions;

export function dial(uri: LibvirtUri, opts: DialOptions = {}): Promise<Duplex> {
  switch (uri.transport) {
    case 'unix':
      return dialUnix(uri, opts);
    case 'ssh':
      return dialSsh(uri, opts);
  }
}

export { dialSsh, dialUnix };
export type { SshDialOptions, UnixDialOptions };
export { SshTunnelError, helperUri, proxyFor, remoteCommand, shQuote, sshInvocation } from './ssh.js';
export { DaemonUnavailableError, SocketConnectError } from '../session.js';
