// Test fixtures for the host modules: what `gatherFacts` reads on a host where the virbr0 bridge setup is done.
import type { HostFacts } from './bridge-setup.js';

export const BRIDGE_HELPER = '/usr/lib/qemu/qemu-bridge-helper';

export const readyHostFacts: HostFacts = {
  ipForward: '1',
  helper: { path: BRIDGE_HELPER, mode: 0o104755, uid: 0 },
  bridgeConf: { path: '/etc/qemu/bridge.conf', mode: 0o100644, text: 'allow virbr0\n' },
  includes: {},
  bridgeExists: true,
  defaultNetworkDefined: true,
  defaultNetworkAutostart: true,
  dhcpRunning: false,
  tunMode: 0o20666,
};
