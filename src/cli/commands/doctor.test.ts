import { describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../host/checks/types.js';
import { renderDoctor } from './doctor.js';

const report: DoctorReport = {
  ok: false,
  checks: [
    { id: 'libvirt', title: 'libvirt installed', status: 'ok', detail: '/usr/sbin/libvirtd 11.3.0' },
    {
      id: 'libvirt-passt',
      title: 'libvirt accepts passt',
      status: 'fail',
      detail: 'libvirt refuses passt',
      fix: '/opt/roost/scripts/setup-host.sh',
    },
    {
      id: 'bridge-conf',
      title: 'bridge.conf',
      status: 'warn',
      detail: 'missing',
      fix: 'sudo mkdir -p /etc/qemu\nsudo touch /etc/qemu/bridge.conf',
    },
  ],
};

describe('renderDoctor', () => {
  it('prints a mark per check, the fix under failures and warnings, and a summary', () => {
    expect(renderDoctor(report).split('\n')).toEqual([
      '✓ libvirt installed      /usr/sbin/libvirtd 11.3.0',
      '✗ libvirt accepts passt  libvirt refuses passt',
      '    fix: /opt/roost/scripts/setup-host.sh',
      '! bridge.conf            missing',
      '    fix: sudo mkdir -p /etc/qemu',
      '         sudo touch /etc/qemu/bridge.conf',
      '',
      '1 ok, 1 warning, 1 failed: roost cannot run VMs here until the failed checks are fixed.',
    ]);
  });

  it('says the host is ready when every check is ok', () => {
    const all: DoctorReport = { ok: true, checks: [report.checks[0]!] };
    expect(renderDoctor(all)).toMatch(/1 ok, 0 warnings, 0 failed: this host is ready\.$/);
  });
});
