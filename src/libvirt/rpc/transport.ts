// What the RPC client needs of the byte stream it talks over. net.Socket, the ssh child's Duplex and the local
// PipeSocket (dialers/pipe-socket.ts) all provide it; nothing else of a stream is used.

export interface Transport {
  /** 'data' (chunk: Buffer), 'error' (err: Error), 'end', 'close', 'drain'. */
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  once(event: 'drain', listener: () => void): this;
  /** False when the caller should wait for 'drain' before writing more. */
  write(chunk: Buffer): boolean;
  /** Writes between cork() and uncork() go out together. */
  cork(): void;
  uncork(): void;
  pause(): this;
  resume(): this;
  destroy(err?: Error): this;
}
