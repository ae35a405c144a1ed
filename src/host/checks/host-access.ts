// What a guest can reach on this host, per --host-access mode (docs/networking.md). passt maps the guest's
// gateway address to the host's loopback unless it is started with --no-map-gw; libvirt starts passt itself,
// with a fixed set of options (--one-off, --socket, --mac-addr, --mtu, --interface, --log-file, --address,
// --netmask, --tcp-ports, --udp-ports in libvirt 11.3) and no domain XML that adds that one. So a passt NIC can
// only be 'loopback'; 'none' is for bridged NICs, whose guests cannot reach the host's 127.0.0.0/8 at all.
// The modes a passt NIC can have come from the domain-xml builder (HOST_ACCESS_MODES): the day a libvirt
// offers the setting, the builder learns it and this check follows.
import { HOST_ACCESS_MODES } from '../../domain-xml/build.js';
import type { HostAccess } from '../../domain-xml/spec.js';
import type { CheckResult } from './types.js';

export interface HostAccessFacts {
  /** The daemon's libvirt version (major·1e6 + minor·1e3 + micro), or null when it could not be asked. */
  libvirtVersion: number | null;
  /** The host-access modes roost can give a passt NIC. */
  passtModes?: readonly HostAccess[];
}

function formatVersion(v: number): string {
  return `${Math.floor(v / 1e6)}.${Math.floor(v / 1e3) % 1000}.${v % 1000}`;
}

/** Which --host-access modes this host supports, and what 'loopback' means for a guest. */
export function hostAccessCheck(facts: HostAccessFacts): CheckResult {
  const base = { id: 'host-access', title: 'what guests reach on this host' };
  const modes = facts.passtModes ?? HOST_ACCESS_MODES;
  const libvirt =
    facts.libvirtVersion === null ? 'libvirt' : `libvirt ${formatVersion(facts.libvirtVersion)}`;
  if (modes.includes('none')) {
    return {
      ...base,
      status: 'ok',
      detail: `--host-access none and loopback work with passt NICs (${libvirt}); bridged NICs: none`,
    };
  }
  return {
    ...base,
    status: 'warn',
    detail:
      `passt NICs (--network user): loopback only — ${libvirt} starts passt without --no-map-gw and has no ` +
      `setting for it, so a guest reaches services bound to this host's 127.0.0.1 at its gateway address; ` +
      `--host-access none: with --network bridge=NAME only`,
  };
}
