// dial(uri): a connected byte stream to the libvirt daemon that `uri` names, whatever the transport.
// The RPC client (connect.ts) only ever sees a Transport; everything transport-specific stays in this folder.
// ssh.ts (child processes, Node streams) loads only for an ssh URI: local commands never pay for it.

import type { Transport } from '../rpc/transport.js';
import type { LibvirtUri } from '../uri.js';
import type { SshDialOptions } from './ssh.js';
import { dialUnix, type UnixDialOptions } from './unix.js';

export type DialOptions = UnixDialOptions & SshDialOptions;

export function dial(uri: LibvirtUri, opts: DialOptions = {}): Promise<Transport> {
  switch (uri.transport) {
    case 'unix':
      return dialUnix(uri, opts);
    case 'ssh':
      return import('./ssh.js').then(({ dialSsh }) => dialSsh(uri, opts));
  }
}
