import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../libvirt/api.js';
import { LibvirtError } from '../libvirt/errors.js';
import type { Domain } from '../libvirt/types.js';
import type { AccelDecision } from './accel.js';
import type { InstallFixes } from './checks/fixes.js';
import { runDoctor } from './doctor.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/domcaps/${name}`, import.meta.url), 'utf8');

const FIXES: InstallFixes = {
  libvirt: '/opt/roost/scripts/setup-host.sh',
  qemu: '/opt/roost/scripts/setup-host.sh',
  passt: 'sudo apt-get install passt',
  ovmf: 'sudo apt-get install ovmf',
  bridgeHelper: 'sudo apt-get install qemu-system-common',
  virtiofsd: 'sudo apt-get install virtiofsd',
};
const TCG: AccelDecision = { accel: 'tcg', reason: '/dev/kvm does not exist', bootId: 'b', cached: true };

/** A daemon that answers versions and capabilities; `define` decides what the probe meets. */
function fakeDaemon(domcaps: string, define: () => Promise<Domain>) {
  const undefined_: string[] = [];
  const client = {
    libVersion: async () => 9_000_000n,
    version: async () => 7_002_000n,
    domainCapabilities: async () => domcaps,
    defineDomain: async () => define(),
    undefineDomain: async (d: Domain) => void undefined_.push(d.name),
  };
  return { client: client as unknown as LibvirtClient, undefined: undefined_ };
}

const ids = (r: { checks: { id: string }[] }) => r.checks.map((c) => c.id);

describe('runDoctor', () => {
  it('shows no ✓ for a kvm (cached for this boot) the daemon does not offer', async () => {
    const caps = fixture('libvirt-11.3-qemu-10.0.xml');
    const d = fakeDaemon(caps, () => Promise.reject(new Error('unused')));
    const kvm: AccelDecision = { accel: 'kvm', reason: '/dev/kvm works', bootId: 'b', cached: true };
    const r = await runDoctor({ connect: async () => d.client, fixes: FIXES, detectAccel: async () => kvm });
    const accel = r.checks.find((c) => c.id === 'accel')!;
    expect(accel.status).toBe('warn');
    expect(accel.detail).toMatch(/^tcg: the libvirt daemon offers no KVM/);
    const withKvm = fakeDaemon(caps.replace('<domain>qemu</domain>', '<domain>kvm</domain>'), () =>
      Promise.reject(new Error('unused')),
    );
    const ok = await runDoctor({
      connect: async () => withKvm.client,
      fixes: FIXES,
      detectAccel: async () => kvm,
    });
    expect(ok.checks.find((c) => c.id === 'accel')!.status).toBe('ok');
  });

  it('runs every check, in a fixed order', async () => {
    const d = fakeDaemon(fixture('libvirt-11.3-qemu-10.0.xml'), () => Promise.reject(new Error('unused')));
    const r = await runDoctor({ connect: async () => d.client, fixes: FIXES, detectAccel: async () => TCG });
    expect(ids(r)).toEqual([
      'user',
      'libvirt',
      'daemon',
      'qemu',
      'passt',
      'libvirt-passt',
      'virtiofs',
      'socket-paths',
      'pty-locks',
      'accel',
      'ovmf',
      'bridge-helper',
      'bridge-conf',
      'bridge-ip-forward',
      'bridge-default-network',
      'bridge-tun',
      'host-access',
      'shared-folders',
    ]);
    expect(r.checks.find((c) => c.id === 'host-access')).toMatchObject({ status: 'warn' });
    expect(r.checks.find((c) => c.id === 'host-access')!.detail).toMatch(
      /loopback only — libvirt 9\.0\.0 starts passt without --no-map-gw/,
    );
    expect(r.checks.find((c) => c.id === 'libvirt-passt')!.status).toBe('ok');
    expect(r.checks.find((c) => c.id === 'accel')).toMatchObject({ status: 'warn' });
    expect(r.checks.find((c) => c.id === 'daemon')!.detail).toContain('libvirt 9.0.0, QEMU 7.2.0');
  });

  it('on a libvirt without the backend enum that refuses the probe: fails with the backports fix', async () => {
    const refusal = new LibvirtError({
      code: 92,
      domain: 20,
      message: 'XML document failed to validate against schema',
      level: 2,
      dom: null,
      str1: null,
      str2: null,
      str3: null,
      int1: 0,
      int2: 0,
      net: null,
    });
    const d = fakeDaemon(fixture('libvirt-no-backend-enum.xml'), () => Promise.reject(refusal));
    const r = await runDoctor({ connect: async () => d.client, fixes: FIXES, detectAccel: async () => TCG });
    expect(r.checks.find((c) => c.id === 'libvirt-passt')).toMatchObject({
      status: 'fail',
      fix: FIXES.libvirt,
    });
    expect(r.ok).toBe(false);
    expect(d.undefined).toEqual([]);
  });

  it('on a libvirt without the enum that accepts the probe: ok, and the probe is undefined', async () => {
    const d = fakeDaemon(fixture('libvirt-no-backend-enum.xml'), async () => ({
      name: 'roost-doctor-probe-x',
      uuid: Buffer.alloc(16),
      id: -1,
    }));
    const r = await runDoctor({ connect: async () => d.client, fixes: FIXES, detectAccel: async () => TCG });
    expect(r.checks.find((c) => c.id === 'libvirt-passt')!.status).toBe('ok');
    expect(d.undefined).toEqual(['roost-doctor-probe-x']);
  });

  it('fails the daemon check with the reason when the connection cannot open, and still runs the rest', async () => {
    const r = await runDoctor({
      uri: 'qemu:///session',
      connect: async () => {
        throw new Error('cannot connect to the libvirt socket /run/user/1/libvirt/virtqemud-sock: EACCES');
      },
      fixes: FIXES,
      detectAccel: async () => TCG,
    });
    const daemon = r.checks.find((c) => c.id === 'daemon')!;
    expect(daemon.status).toBe('fail');
    expect(daemon.detail).toContain('EACCES');
    expect(daemon.fix).toBeDefined();
    expect(r.checks.find((c) => c.id === 'libvirt-passt')!.status).toBe('warn');
    expect(r.checks).toHaveLength(18);
    expect(r.checks.find((c) => c.id === 'host-access')!.detail).toMatch(
      /^passt NICs \(--network user\): loopback only — libvirt starts/,
    );
    // Without the daemon's version, doctor cannot tell which shared-folder type this host gives.
    expect(r.checks.find((c) => c.id === 'shared-folders')).toMatchObject({ status: 'warn' });
    expect(r.ok).toBe(false);
  });

  it('gives up on a daemon that does not answer', async () => {
    const r = await runDoctor({
      connect: () => new Promise(() => {}),
      fixes: FIXES,
      detectAccel: async () => TCG,
      daemonTimeoutMs: 50,
    });
    expect(r.checks.find((c) => c.id === 'daemon')).toMatchObject({ status: 'fail' });
  });

  it('warns that root is not what roost is for', async () => {
    const d = fakeDaemon(fixture('libvirt-11.3-qemu-10.0.xml'), () => Promise.reject(new Error('unused')));
    const r = await runDoctor({
      connect: async () => d.client,
      fixes: FIXES,
      detectAccel: async () => TCG,
      uid: 0,
      env: { ...process.env, SUDO_USER: 'alice' },
    });
    expect(r.checks[0]).toMatchObject({ id: 'user', status: 'warn', fix: 'sudo -u alice -i roost doctor' });
    expect(r.checks[0]!.detail).toMatch(/system daemon/);
  });
});
