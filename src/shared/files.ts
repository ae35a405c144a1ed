// The shapes of copying files between the host and a VM: `roost cp --json` (docs/cli-json.md). No imports: the
// browser uses it too.

/** How `roost cp` reached the guest: its ssh route (scp, SFTP mode) or the guest agent's file calls. */
export type CopyRoute = 'ssh' | 'agent';

/** `roost cp --json`: what was copied, which way, and how. */
export interface CopyResult {
  vm: string;
  direction: 'to-guest' | 'from-guest';
  via: CopyRoute;
  /** Local sources absolute; VM paths as given ('.' for the login's home). */
  sources: string[];
  destination: string;
  recursive: boolean;
  /** Modes and modification times kept (the default; --no-preserve turns it off). */
  preserved: boolean;
  /** Bytes of regular files on this host's side: what was sent, or what arrived. */
  bytes: number;
  elapsedMs: number;
}
