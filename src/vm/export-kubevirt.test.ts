// roost export --format kubevirt: a VM as libvirt defines it (domain XML built by roost's own builder and parsed
// back, as export reads it) mapped to the KubeVirt builder's source — image from the catalogue or a file, size,
// forwards, shared folders, bridges, the seed's user-data, autostart — and a note for each thing not carried.
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { mountsCloudConfig } from '../cloud-init/mounts.js';
import { buildUserData } from '../cloud-init/user-data.js';
import { buildKubevirtManifests, kubevirtYaml } from '../kubevirt/index.js';
import { currentVmOf } from './export-testing.js';
import { kubevirtSourceOf, UNKNOWN_DISK_GIB, type ImageFacts, type SeedFacts } from './export-kubevirt.js';

const DEBIAN = {
  name: 'debian-12',
  url: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2',
  checksum: {
    algorithm: 'sha512' as const,
    url: 'https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS',
  },
  minDiskGiB: 4,
};
const SHA = 'ab'.repeat(32);
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnlyFakeKeyForTestsOnly me@laptop';

const current = currentVmOf;

const seedOf = (userData: string | Error | undefined, networkConfig?: string): SeedFacts => ({
  path: '/home/u/.local/share/roost/seeds/demo.iso',
  userData,
  networkConfig,
});

const userData = (extra = {}) =>
  buildUserData({ user: 'debian', sshPublicKeys: [KEY], hostname: 'demo', extra });

describe('the image', () => {
  it('is the catalogue URL, pinned by the SHA-256 the cache verified of that download', () => {
    const { src } = kubevirtSourceOf(current(), { entry: DEBIAN, cachedSha256: SHA }, {});
    expect(src.image).toEqual({ ref: 'debian-12', url: DEBIAN.url, sha256: SHA });
    expect(kubevirtSourceOf(current(), { entry: DEBIAN }, {}).src.image).toEqual({
      ref: 'debian-12',
      url: DEBIAN.url,
    });
  });

  it('takes a SHA-256 written in the catalogue entry', () => {
    const entry = { ...DEBIAN, checksum: { algorithm: 'sha256' as const, value: 'cd'.repeat(32) } };
    expect(kubevirtSourceOf(current(), { entry }, {}).src.image.sha256).toBe('cd'.repeat(32));
  });

  it('is a file to upload for an image without URL (an import) or a path', () => {
    const imported: ImageFacts = {
      entry: { name: 'rhel-9', minDiskGiB: 10 },
      cachedPath: '/home/u/.cache/roost/images/rhel-9.qcow2',
    };
    const vm = current({ roost: { createdBy: 'roost', imageRef: 'rhel-9' } });
    expect(kubevirtSourceOf(vm, imported, {}).src.image).toEqual({
      ref: 'rhel-9',
      path: '/home/u/.cache/roost/images/rhel-9.qcow2',
    });
    const byPath = current({ roost: { createdBy: 'roost', imageRef: '/srv/images/base.qcow2' } });
    expect(kubevirtSourceOf(byPath, {}, {}).src.image).toEqual({ path: '/srv/images/base.qcow2' });
  });

  it("is the VM's own disk, with a note, when nothing else is known (a VM made by virsh)", () => {
    const vm = current();
    vm.parsed.roost = undefined;
    const { src, notes } = kubevirtSourceOf(vm, {}, {});
    expect(src.image).toEqual({ path: '/home/u/.local/share/roost/pool/demo.qcow2' });
    expect(notes).toContain(
      "image: the VM's image is not known: the cluster disk is to be uploaded from the VM's own disk /home/u/.local/share/roost/pool/demo.qcow2, as it is now",
    );
  });

  it('notes a direct kernel boot, which the cluster cannot do from this machine’s files', () => {
    const vm = current({ boot: { kind: 'kernel', kernel: '/srv/tiny/vmlinuz', cmdline: 'console=ttyS0' } });
    expect(kubevirtSourceOf(vm, { entry: DEBIAN }, {}).notes[0]).toMatch(
      /^kernel: the VM boots the kernel \/srv\/tiny\/vmlinuz of this machine directly/,
    );
  });
});

describe('size, forwards, networks, start', () => {
  it('carries CPUs, memory, firmware and the disk in whole GiB (rounded up, with a note)', () => {
    const { src, notes } = kubevirtSourceOf(
      current({}, { diskBytes: 16 * 1024 ** 2 }),
      { entry: DEBIAN },
      {},
    );
    expect(src).toMatchObject({ name: 'demo', cpus: 2, memoryMiB: 1024, firmware: 'uefi', diskGiB: 1 });
    expect(notes).toContain('disk: 16 MiB is rounded up to 1Gi (the DataVolume is sized in whole GiB)');
    expect(kubevirtSourceOf(current(), { entry: DEBIAN }, {}).src.diskGiB).toBe(20);
    const unknown = kubevirtSourceOf(current({}, { diskBytes: undefined }), {}, {});
    expect(unknown.src.diskGiB).toBe(UNKNOWN_DISK_GIB);
    expect(unknown.notes.some((n) => n.startsWith('disk: its size cannot be read'))).toBe(true);
  });

  it('makes each forward a port, a range one port each, every-address forwards without address', () => {
    const { src } = kubevirtSourceOf(current(), { entry: DEBIAN }, {});
    expect(src.ports).toHaveLength(1 + 11 + 1);
    expect(src.ports[0]).toEqual({ proto: 'tcp', hostPort: 2222, guestPort: 22, address: '127.0.0.1' });
    expect(src.ports[11]).toEqual({ proto: 'tcp', hostPort: 8010, guestPort: 9010, address: '127.0.0.1' });
    expect(src.ports[12]).toEqual({ proto: 'udp', hostPort: 5353, guestPort: 53 });
  });

  it('passes bridges on, and keeps the VM running in the cluster when it starts at login', () => {
    const vm = current(
      {
        network: [
          { kind: 'user', ports: [] },
          { kind: 'bridge', bridge: 'virbr0' },
        ],
      },
      { autostart: true },
    );
    const { src } = kubevirtSourceOf(vm, { entry: DEBIAN }, {});
    expect(src.bridges).toEqual(['virbr0']);
    expect(src.autostart).toBe(true);
    expect(buildKubevirtManifests(src).manifests.find((m) => m.kind === 'VirtualMachine')).toMatchObject({
      spec: { runStrategy: 'Always' },
    });
  });

  it('notes a second disk', () => {
    const vm = current({
      disks: [
        { path: '/p/demo.qcow2', format: 'qcow2' },
        { path: '/p/data.qcow2', format: 'qcow2' },
      ],
    });
    expect(kubevirtSourceOf(vm, { entry: DEBIAN }, {}).notes).toContain(
      'disk /p/data.qcow2: only the main disk is carried; add a DataVolume and a disk to the VM for it',
    );
  });
});

describe('cloud-init', () => {
  it('carries the seed’s user-data byte for byte, and its network-config to be left out', () => {
    const text = userData({ packages: ['nginx'] });
    const { src } = kubevirtSourceOf(current(), { entry: DEBIAN }, seedOf(text, 'version: 2\n'));
    expect(src.cloudInit).toEqual({ userData: text, networkConfig: 'version: 2\n' });
  });

  it('leaves out the mounts of shared folders, with a note, and keeps the user’s own runcmd', () => {
    const mounts = [{ tag: 'roost0', guestDir: '/src', type: '9p' as const, options: 'trans=virtio' }];
    const text = buildUserData({
      user: 'debian',
      sshPublicKeys: [KEY],
      hostname: 'demo',
      mounts,
      extra: { runcmd: ['echo mine'] },
    });
    expect(text).toContain('roost-mount');
    const { src, notes } = kubevirtSourceOf(current(), { entry: DEBIAN }, seedOf(text));
    expect(src.cloudInit!.userData).not.toContain('roost-mount');
    expect(src.cloudInit!.userData).not.toContain('/etc/fstab');
    expect(src.cloudInit!.userData).toContain('echo mine');
    expect(src.cloudInit!.userData).toContain(KEY);
    expect(notes.some((n) => n.startsWith("cloud-init: the user-data's fstab lines"))).toBe(true);
    expect(mountsCloudConfig(mounts).runcmd).toHaveLength(2);
  });

  it('says so when the seed cannot be read, and makes no cloud-init volume', () => {
    const { src, notes } = kubevirtSourceOf(current(), { entry: DEBIAN }, seedOf(new Error('EACCES')));
    expect(src.cloudInit).toBeUndefined();
    expect(notes).toContain(
      'cloud-init: the seed /home/u/.local/share/roost/seeds/demo.iso could not be read (EACCES): the cluster VM gets no user-data',
    );
  });
});

describe('shared folders', () => {
  it('are listed for the builder (which notes each) with the path the user gave', () => {
    const vm = current({
      filesystems: [{ type: '9p', source: '/real/src', tag: 'roost0', readonly: true }],
      roost: {
        createdBy: 'roost',
        imageRef: 'debian-12',
        mounts: [{ tag: 'roost0', guestDir: '/src', hostDirGiven: '/home/u/src' }],
      },
    });
    const { src } = kubevirtSourceOf(vm, { entry: DEBIAN }, {});
    expect(src.mounts).toEqual([{ hostDir: '/home/u/src', guestDir: '/src', readOnly: true }]);
    const text = kubevirtYaml(buildKubevirtManifests(src));
    const docs = parseAllDocuments(text).map((d) => JSON.stringify(d.toJSON()));
    expect(docs.some((d) => d.includes('/real/src') || d.includes('/home/u/src'))).toBe(false);
  });
});
