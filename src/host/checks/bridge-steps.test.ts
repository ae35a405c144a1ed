import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../bridge-setup.js';
import { readyHostFacts } from '../testing.js';
import { bridgeStepChecks } from './bridge-steps.js';

const READY: HostFacts = readyHostFacts;

const byId = (facts: HostFacts, uid = 1000) =>
  Object.fromEntries(bridgeStepChecks(facts, uid).map((c) => [c.id, c]));

describe("doctor's bridge steps (what roost host bridge-setup would do for virbr0)", () => {
  it('are all ok on a host that is set up', () => {
    const checks = bridgeStepChecks(READY, 1000);
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['bridge-ip-forward', 'ok'],
      ['bridge-default-network', 'ok'],
      ['bridge-tun', 'ok'],
    ]);
  });

  it('name the missing one, with the root commands that fix it', () => {
    const c = byId({ ...READY, ipForward: '0', defaultNetworkAutostart: false, tunMode: 0o20600 });
    expect(c['bridge-ip-forward']).toMatchObject({ status: 'warn' });
    expect(c['bridge-ip-forward']!.detail).toMatch(
      /net\.ipv4\.ip_forward is 0.*only needed for --network bridge/,
    );
    expect(c['bridge-ip-forward']!.fix!.split('\n')[0]).toBe('sudo -- sysctl -w net.ipv4.ip_forward=1');
    expect(c['bridge-default-network']).toMatchObject({
      status: 'warn',
      fix: 'sudo -- virsh -c qemu:///system net-autostart default',
    });
    expect(c['bridge-default-network']!.detail).toContain('does not autostart');
    expect(c['bridge-tun']).toMatchObject({ status: 'warn', fix: 'sudo -- chmod 0666 /dev/net/tun' });
  });

  it('give root the commands without sudo', () => {
    expect(byId({ ...READY, ipForward: '0' }, 0)['bridge-ip-forward']!.fix!.split('\n')[0]).toBe(
      'sysctl -w net.ipv4.ip_forward=1',
    );
  });
});
