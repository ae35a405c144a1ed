// The answers the CLI and the API both send are built here once: what each builder makes parses, strictly, as
// its shape in src/shared (no field of the use case's own result leaks onto the wire, none is missing).
import { describe, expect, it } from 'vitest';
import { parsePortForward } from '../net/port-spec.js';
import type { VmAddresses } from '../shared/ports.js';
import { CreatedVm, StartedVm, VmInfo } from '../shared/testing.js';
import type { VmDetails } from '../shared/vms.js';
import type { CreateResult } from './create.js';
import type { StartResult } from './start.js';
import { createdVm, startedVm, vmInfo } from './wire.js';

const made: CreateResult = {
  name: 'web',
  uuid: '9e4b0a40-954a-454a-8e2f-90e9cc9156fc',
  accel: { accel: 'tcg', reason: '/dev/kvm does not exist', bootId: 'b', cached: true },
  disk: '/pool/web.qcow2',
  ports: [parsePortForward('8080:80'), parsePortForward('2222:22')],
  addedPorts: [parsePortForward('2222:22')],
  started: true,
  sshUser: 'debian',
  sshKey: '/keys/id',
  seed: '/pool/web-seed.iso',
  xml: '<domain/>',
  warnings: ['w'],
  mounts: [
    {
      tag: 'roost0',
      type: '9p',
      hostDir: '/home/u/src',
      guestDir: '/src',
      mode: 'rw',
      bySeed: true,
      guestCommand: 'mkdir -p /src && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 roost0 /src',
    },
  ],
};

const details: VmDetails = {
  name: 'web',
  uuid: made.uuid,
  state: 'running',
  accel: 'tcg',
  cpus: 1,
  memoryMiB: 256,
  ports: ['127.0.0.1:8080:80/tcp'],
  networks: ['user', 'bridge:virbr0'],
  managedBy: 'roost',
  autostart: false,
  id: 1,
  disks: [],
  boot: 'disk',
  firmware: 'uefi',
  serialLog: null,
  vncSocket: null,
  guestAgent: true,
  roost: null,
  mounts: [
    {
      tag: 'roost0',
      type: '9p',
      hostDir: '/home/u/src',
      hostDirGiven: null,
      guestDir: '/src',
      mode: 'rw',
      accessmode: 'squash',
      state: 'configured',
    },
  ],
};

describe('createdVm', () => {
  it('is the create answer of both the CLI and the API, with every field', () => {
    const a = createdVm(made, 41250);
    expect(CreatedVm.parse(a)).toEqual({
      name: 'web',
      uuid: made.uuid,
      state: 'running',
      accel: 'tcg',
      accelReason: '/dev/kvm does not exist',
      disk: '/pool/web.qcow2',
      ports: ['127.0.0.1:8080:80/tcp', '127.0.0.1:2222:22/tcp'],
      sshUser: 'debian',
      warnings: ['w'],
      mounts: made.mounts,
      waitedMs: 41250,
    });
  });

  it('says null for what a VM does not have, and shutoff when not started', () => {
    const { disk: _disk, sshUser: _user, ...bare } = made;
    const a = createdVm({ ...bare, started: false }, null);
    expect(CreatedVm.parse(a)).toMatchObject({ state: 'shutoff', disk: null, sshUser: null, waitedMs: null });
  });
});

describe('startedVm', () => {
  it("leaves the use case's own fields (autoPorts, forwards) off the wire", () => {
    const r: StartResult = { name: 'web', alreadyRunning: false, autoPorts: true, ports: made.ports };
    expect(StartedVm.parse(startedVm(r, null))).toEqual({
      name: 'web',
      alreadyRunning: false,
      waitedMs: null,
    });
  });
});

describe('vmInfo', () => {
  it('adds the first address found and where it came from', () => {
    const found: VmAddresses = {
      name: 'web',
      state: 'running',
      ip: '10.0.0.5',
      nics: [
        {
          mac: '52:54:00:00:00:01',
          network: 'bridge:virbr0',
          addresses: [
            {
              ip: '10.0.0.5',
              family: 'ipv4',
              mac: '52:54:00:00:00:01',
              source: 'lease-file',
              where: '/x.status',
            },
          ],
          tried: [{ source: 'lease-file', result: 'found' }],
        },
      ],
    };
    expect(VmInfo.parse(vmInfo(details, found, { count: 2, current: 'b' }))).toMatchObject({
      ip: '10.0.0.5',
      ipSource: { source: 'lease-file', where: '/x.status' },
      snapshots: { count: 2, current: 'b' },
    });
  });

  it('says null for both when nothing was found or the VM is stopped', () => {
    expect(VmInfo.parse(vmInfo(details, null, { count: 0, current: null }))).toMatchObject({
      ip: null,
      ipSource: null,
      snapshots: { count: 0, current: null },
    });
  });
});
