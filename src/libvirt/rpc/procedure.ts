// What the RPC client needs to know of a procedure to call it: where it lives on the wire and how its arguments
// and reply are encoded. The table of the procedures roost calls is procedures.ts.

import type { Codec } from '../xdr/index.js';
import type { StreamMode } from './stream.js';

export interface Procedure<A, R> {
  /** Program number (Program.REMOTE, Program.QEMU). */
  readonly prog: number;
  /** Procedure number within the program. */
  readonly proc: number;
  readonly args: Codec<A>;
  readonly ret: Codec<R>;
  /** Set for calls whose serial carries a data stream after the reply, in the direction given. */
  readonly stream?: StreamMode;
}

/** A MESSAGE packet the daemon sends unasked (an event): routed by program and procedure, decoded with `msg`. */
export interface EventMessage<M> {
  readonly prog: number;
  readonly proc: number;
  readonly msg: Codec<M>;
}
