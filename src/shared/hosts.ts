// The shapes of roost's host list: `roost hosts ls --json` and `roost ls --all-hosts --json`
// (docs/cli-json.md, docs/hosts.md). No imports but siblings: the browser uses it.
import type { VmSummary } from './vms.js';

/** One host of ~/.config/roost/hosts.yaml: the name `-H NAME` takes, and its libvirt URI. */
export interface HostEntry {
  name: string;
  uri: string;
}

/** One host's answer in `roost ls --all-hosts --json`: its VMs, or why it gave none in time. */
export interface HostVms {
  /** The name in hosts.yaml, or 'local' for this host's default connection. */
  host: string;
  uri: string;
  /** null when the host did not answer (see error). */
  vms: VmSummary[] | null;
  /** Why the host gave no list: unreachable, refused, or no answer within the timeout. */
  error: { code: string; message: string; hint?: string } | null;
}
