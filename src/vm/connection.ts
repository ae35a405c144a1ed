// What `roost connection` reports.
import { parseUri } from '../libvirt/uri.js';
import { socketPathFor } from '../libvirt/dialers/socket-path.js';
import { VERSION } from '../version.js';
import type { VmContext } from './context.js';
import type { ConnectionInfo } from '../shared/host.js';

export type { ConnectionInfo } from '../shared/host.js';

/** libvirt encodes versions as major·1e6 + minor·1e3 + micro. */
export function formatVersion(v: bigint | number): string {
  const n = Number(v);
  return `${Math.floor(n / 1e6)}.${Math.floor(n / 1e3) % 1000}.${n % 1000}`;
}

export const SESSION_LIMITS = [
  'host bridges and tap devices of its own (user-mode networking with passt only; a host bridge through the setuid qemu-bridge-helper: roost host bridge-setup)',
  'PCI/USB device passthrough',
  'autostart of VMs at host boot (a session VM starts when its user asks)',
  'host-wide storage and logs (yours live in ~/.local/share/libvirt, ~/.cache/libvirt/qemu/log and ~/.local/share/roost)',
  "seeing other users' or the system's VMs",
];

export async function describeConnection(ctx: VmContext): Promise<ConnectionInfo> {
  const target = parseUri(ctx.uri);
  const [daemonUri, hostname, lib, hv] = await Promise.all([
    ctx.client.uri(),
    ctx.client.hostname(),
    ctx.client.libVersion(),
    ctx.client.version(),
  ]);
  return {
    roostVersion: VERSION,
    uri: ctx.uri,
    daemonUri,
    scope: target.scope,
    transport: target.transport,
    socket: target.transport === 'unix' ? socketPathFor(target, { env: ctx.env }) : null,
    hostname,
    libvirtVersion: formatVersion(lib),
    qemuVersion: formatVersion(hv),
    limits: target.scope === 'session' ? SESSION_LIMITS : [],
  };
}
