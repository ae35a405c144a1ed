// Test fixtures for the host modules: what `gatherFacts` reads on a host where the virbr0 bridge setup is done.
import type { HostFacts } from './bridge-setup.js';
import type { FileFacts } from './checks/bridge.js';

export const BRIDGE_HELPER = '/usr/lib/qemu/qemu-bridge-helper';

/** The helper as Debian installs it: root's, 0755, in root's 0755 directories; `mode` overrides its mode. */
export function packagedHelper(mode = 0o100755, path = BRIDGE_HELPER): FileFacts {
  const dirs = ['/usr/lib/qemu', '/usr/lib', '/usr', '/'].map((d) => ({
    path: d,
    mode: 0o40755,
    uid: 0,
    gid: 0,
  }));
  return { path, mode, uid: 0, gid: 0, dirs };
}

export const readyHostFacts: HostFacts = {
  ipForward: '1',
  helper: packagedHelper(0o104755),
  bridgeConf: { path: '/etc/qemu/bridge.conf', mode: 0o100644, text: 'allow virbr0\n' },
  includes: {},
  bridgeExists: true,
  defaultNetworkDefined: true,
  defaultNetworkAutostart: true,
  dhcpRunning: false,
  tunMode: 0o20666,
};
