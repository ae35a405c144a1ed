// LibvirtConnection: one connection to a libvirt daemon — the handshake, typed calls by procedure name, the
// daemon's feature answers, and the lazy reconnect. LibvirtClient (api.ts) puts readable methods on top.
//
// Reconnect contract: with `reconnect` set, a call made after the connection closed dials again and
// redoes the handshake before it is sent. A handshake cut off by a closing connection (a daemon killed a moment
// ago still accepts connections until the kernel has torn it down; the next dial starts a new one) is dialled
// again a few times: the handshake changes nothing on the daemon, so repeating it is always safe. Calls in flight
// when the connection dies still fail with ConnectionClosedError (they may or may not have run; only the caller
// can decide to retry). Nothing is re-registered: event iterators end with ConnectionClosedError and must be
// started again, open streams fail, and feature answers are asked again.

import { ConnectionClosedError, ProtocolError } from './errors.js';
import { type ArgsOf, type ProcedureName, type RetOf, procedures } from './procedures.js';
import { RpcClient, type KeepaliveOptions } from './rpc/client.js';
import type { LibvirtStream } from './rpc/stream.js';
import type { Transport } from './rpc/transport.js';
import { AuthType, ConnectFlags } from './types.js';

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

/** The arguments of a call by name: none for a procedure without arguments, else its one argument struct. */
export type ArgsParam<N extends ProcedureName> = ArgsOf<N> extends void ? [] : [ArgsOf<N>];

const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 5000, maxMissed: 6 };
/** Dials (first one included) for a handshake the connection's closing cut off, and the pause between them. */
const HANDSHAKE_ATTEMPTS = 5;
const HANDSHAKE_RETRY_MS = 50;

export class LibvirtConnection {
  private rpc: RpcClient | null = null;
  private connecting: Promise<RpcClient> | null = null;
  private closedByUser = false;
  private features = new Map<number, Promise<boolean>>();
  private lastCloseError: ConnectionClosedError | null = null;

  /** Not connected yet: start() hands it a dialled transport; otherwise the first call dials with `reconnect`. */
  constructor(
    private readonly openName: string,
    private readonly opts: OpenClientOptions,
  ) {}

  /** Runs the handshake on an already dialled transport (dialling again with `reconnect` if it is cut off). */
  async start(transport: Transport): Promise<void> {
    await this.establish(transport);
  }

  /** Calls any procedure of the table with typed arguments and reply. */
  call<N extends ProcedureName>(name: N, ...args: ArgsParam<N>): Promise<RetOf<N>> {
    const procedure = procedures[name];
    const live = this.liveRpc();
    // Connected: the call goes out now and its promise is the RPC client's own; each async hop here would add
    // promises and microtasks to every call, which a sequential caller waits through (BENCHMARKS.md).
    if (live) return live.call(procedure, args[0] as ArgsOf<N>);
    return this.connection().then((rpc) => rpc.call(procedure, args[0] as ArgsOf<N>));
  }

  /** Calls a stream-opening procedure; resolves with the stream after the daemon's REPLY/OK. */
  async openStream<N extends ProcedureName>(name: N, args: ArgsOf<N>): Promise<LibvirtStream> {
    if (!procedures[name].stream) throw new TypeError(`${name} does not open a stream`);
    const rpc = await this.connection();
    return rpc.openStream(procedures[name], args);
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
    await rpc.call(procedures.CONNECT_CLOSE, undefined).catch(() => {});
    rpc.close();
  }

  /** Whether the daemon supports a VIR_DRV_FEATURE_* (Feature); asked once per connection. */
  async supportsFeature(feature: number): Promise<boolean> {
    const rpc = await this.connection();
    let answer = this.features.get(feature);
    if (!answer) {
      answer = rpc.call(procedures.CONNECT_SUPPORTS_FEATURE, { feature }).then((r) => r.supported !== 0);
      answer.catch(() => this.features.delete(feature));
      this.features.set(feature, answer);
    }
    return answer;
  }

  /** The live RPC connection, re-dialled if it closed and `reconnect` allows. */
  async connection(): Promise<RpcClient> {
    if (this.closedByUser) throw new ConnectionClosedError('libvirt client was closed');
    const live = this.liveRpc();
    if (live) return live;
    const reconnect = this.opts.reconnect;
    if (!reconnect) throw this.lastCloseError ?? new ConnectionClosedError();
    this.connecting ??= this.establish(null).finally(() => (this.connecting = null));
    return this.connecting;
  }

  /** The RPC connection when it is up and the user has not closed the client; null otherwise. */
  private liveRpc(): RpcClient | null {
    return !this.closedByUser && this.rpc && !this.rpc.closed ? this.rpc : null;
  }

  /** Handshake on `first` (or a fresh dial), dialling again while the connection closes under the handshake. */
  private async establish(first: Transport | null): Promise<RpcClient> {
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
    try {
      await this.handshake(rpc);
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

  /** AUTH_LIST, AUTH_POLKIT if the daemon wants it, CONNECT_OPEN. */
  private async handshake(rpc: RpcClient): Promise<void> {
    const { types } = await rpc.call(procedures.AUTH_LIST, undefined);
    // Like libvirt's remote driver: the daemon's first listed method is the one to use.
    const method = types[0] ?? AuthType.NONE;
    if (method === AuthType.POLKIT) await rpc.call(procedures.AUTH_POLKIT, undefined);
    else if (method !== AuthType.NONE) {
      throw new ProtocolError(
        'PROTOCOL_UNSUPPORTED',
        `the daemon wants auth type ${method}; only none and polkit are supported`,
      );
    }
    const flags = this.opts.readOnly ? ConnectFlags.RO : 0;
    await rpc.call(procedures.CONNECT_OPEN, { name: this.openName, flags });
  }
}
