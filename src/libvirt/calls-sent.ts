// When the calls made so far have left: the RPC client gathers a tick's calls into one write at the end of the
// tick (rpc/client.ts writeCoalesced), so work that would block the thread — a scan of /proc, loading code —
// waits for this and runs while the daemon answers, instead of holding the calls back.

/** Resolves once the calls made so far are written to the daemon. */
export function afterCallsSent(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
