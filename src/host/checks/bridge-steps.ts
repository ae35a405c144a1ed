// doctor's view of `roost host bridge-setup` for libvirt's virbr0: each one-time root step is a check of its own,
// so doctor names the one that is missing (issue 5) — IPv4 forwarding, libvirt's default network (defined,
// started, autostarted) and /dev/net/tun. bridge.conf and the helper's setuid bit have their own checks
// (bridge.ts). All are warnings: only --network bridge needs them; passt VMs never do.
import { planBridgeSetup, shellLine, type HostFacts, type SetupStep } from '../bridge-setup.js';
import type { CheckResult } from './types.js';

/** The bridge-setup steps doctor reports here (the others are bridge.ts's checks). */
const STEPS: Partial<Record<SetupStep['id'], { id: string; title: string }>> = {
  'ip-forward': { id: 'bridge-ip-forward', title: 'IPv4 forwarding (for virbr0)' },
  'default-network': { id: 'bridge-default-network', title: "libvirt's default network (virbr0)" },
  'tun-device': { id: 'bridge-tun', title: '/dev/net/tun (for bridged NICs)' },
};

export function bridgeStepChecks(facts: HostFacts, uid: number): CheckResult[] {
  return planBridgeSetup({}, facts).flatMap((step): CheckResult[] => {
    const check = STEPS[step.id];
    if (check === undefined) return [];
    if (step.done) return [{ ...check, status: 'ok', detail: step.detail }];
    return [
      {
        ...check,
        status: 'warn',
        detail: `${step.detail} (only needed for --network bridge=virbr0)`,
        fix: step.commands.map((c) => shellLine(c, uid)).join('\n') || undefined,
      },
    ];
  });
}
