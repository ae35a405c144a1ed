// roost export NAME --format kubevirt against the real session daemon: a VM defined by `roost create` (the tiny
// guest's kernel over an image file, a forward, a read-only shared folder, a cloud-config of the user's with a
// password hash; never started) comes out as manifests KubeVirt's, CDI's and Kubernetes' published schemas accept
// (src/kubevirt/testing.ts, the fixtures of src/kubevirt's tests), its user-data in a Secret only, its shared
// folder nowhere but in a warning, each thing not carried a warning on stderr.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestValidator } from '../../src/kubevirt/testing.js';
import {
  createScope,
  freePort,
  harness,
  roost,
  runAs,
  tinyCreateArgs,
  tinyGuest,
  type RunResult,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('kvexp', user, uri);
const name = scope.name('web');
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const HASH = '$6$rounds=4096$c2FsdHNhbHQ$roostExportTestHashNotARealOne0123456789abcdefghijklmnopqrstuv';
let share: string;
let base: string;
let port: number;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

afterAll(() => scope.cleanup());

beforeAll(async () => {
  base = join(scope.dir, 'base.qcow2');
  await runAs(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', base, '32M']);
  share = join(scope.dir, 'share');
  await runAs(user, 'mkdir', ['-p', share], { check: true });
  const cloudConfig = join(scope.dir, 'cloud.yaml');
  writeFileSync(cloudConfig, `#cloud-config\npassword: "${HASH}"\npackages: [nginx]\n`, { mode: 0o644 });
  port = await freePort();
  const r = await roost(user, [
    'create',
    name,
    '--image',
    base,
    ...tinyCreateArgs(tinyGuest(user)),
    '--disk',
    '64M',
    '--port',
    `127.0.0.1:${port}:80`,
    '--mount',
    `${share}:/data:ro`,
    '--mount-type',
    '9p',
    '--cloud-init',
    cloudConfig,
    '--no-start',
  ]);
  expect(r.code, text(r)).toBe(0);
}, 180_000);

describe('roost export --format kubevirt', () => {
  let out: RunResult;
  let manifests: Json[];

  beforeAll(async () => {
    out = await roost(user, ['export', name, '--format', 'kubevirt']);
    manifests = parseAllDocuments(out.stdout).map((d) => d.toJSON());
  });

  it('writes a DataVolume, a Secret, a VirtualMachine and a Service the published schemas accept', () => {
    expect(out.code, text(out)).toBe(0);
    expect(manifests.map((m) => m.kind)).toEqual(['DataVolume', 'Secret', 'VirtualMachine', 'Service']);
    const validator = new ManifestValidator();
    expect(manifests.map((m) => [m.kind, validator.errors(m)])).toEqual(manifests.map((m) => [m.kind, []]));
  }, 120_000);

  it('carries the VM: size, firmware, its forward as a Service port, the image file to upload', () => {
    const [dv, , vm, svc] = manifests;
    expect(vm.metadata.name).toBe(name);
    expect(vm.spec.template.spec.domain.cpu).toEqual({ cores: 1 });
    expect(vm.spec.template.spec.domain.memory).toEqual({ guest: '256Mi' });
    expect(vm.spec.template.spec.domain.firmware).toEqual({ bootloader: { bios: {} } });
    expect(vm.spec.runStrategy).toBe('Manual');
    expect(dv.spec.source).toEqual({ upload: {} });
    expect(dv.spec.storage.resources.requests.storage).toBe('1Gi');
    expect(svc.spec.ports).toContainEqual({ name: `tcp-${port}`, protocol: 'TCP', port, targetPort: 80 });
  });

  it('puts the user-data (the password hash too) in the Secret only, without the shared folder’s mount', () => {
    const [, secret, vm] = manifests;
    expect(secret.stringData.userdata).toContain(HASH);
    expect(secret.stringData.userdata).toContain('nginx');
    expect(secret.stringData.userdata).not.toContain('/data');
    expect(JSON.stringify(vm)).not.toContain(HASH);
    expect(vm.spec.template.spec.volumes[1]).toEqual({
      name: 'cloudinitdisk',
      cloudInitNoCloud: { secretRef: { name: secret.metadata.name } },
    });
    expect(out.stderr).not.toContain(HASH);
  });

  it('writes no host path of the shared folder, and warns on stderr for each thing not carried', () => {
    expect(out.stdout.split('\n---\n').slice(1).join('\n')).not.toContain(share);
    expect(out.stdout).not.toContain('hostPath');
    const warnings = out.stderr.split('\n').filter((l) => l.startsWith('roost: warning: '));
    const says = (start: string) => warnings.some((w) => w.startsWith(`roost: warning: ${start}`));
    expect(says(`mount ${share} → /data (read-only): a cluster has no host directory`), out.stderr).toBe(
      true,
    );
    expect(says('kernel: the VM boots the kernel'), out.stderr).toBe(true);
    expect(says(`image: ${base} is a file on this machine`), out.stderr).toBe(true);
    expect(says('start: the VM does not start at login'), out.stderr).toBe(true);
    // The same notes head the file, as comments.
    expect(out.stdout.startsWith('# Not carried over 1:1 (docs/kubevirt.md):\n')).toBe(true);
  });

  it('takes the namespace, Service type, run strategy and storage class given, still valid', async () => {
    const r = await roost(user, [
      'export',
      name,
      '--format',
      'kubevirt',
      '--namespace',
      'lab',
      '--service-type',
      'NodePort',
      '--run-strategy',
      'Always',
      '--storage-class',
      'fast-ssd',
    ]);
    expect(r.code, text(r)).toBe(0);
    const [dv, secret, vm, svc] = parseAllDocuments(r.stdout).map((d) => d.toJSON() as Json);
    expect([dv, secret, vm, svc].map((m) => m.metadata.namespace)).toEqual(['lab', 'lab', 'lab', 'lab']);
    expect(svc.spec.type).toBe('NodePort');
    expect(vm.spec.runStrategy).toBe('Always');
    expect(dv.spec.storage.storageClassName).toBe('fast-ssd');
    const validator = new ManifestValidator();
    expect([dv, secret, vm, svc].flatMap((m) => validator.errors(m))).toEqual([]);
  }, 120_000);

  it('refuses KubeVirt options without --format kubevirt, and a bad namespace or Service type (exit 2)', async () => {
    const cases = [
      [['--namespace', 'lab'], 'need --format kubevirt'],
      [['--format', 'kubevirt', '--namespace', 'Lab_1'], "'Lab_1' is not a valid Kubernetes namespace"],
      [['--format', 'kubevirt', '--service-type', 'HostPort'], 'HostPort'],
    ] as const;
    for (const [args, says] of cases) {
      const r = await roost(user, ['export', name, ...args]);
      expect(r.code, text(r)).toBe(2);
      expect(r.stderr).toContain(says);
      expect(r.stdout).toBe('');
    }
  });

  it('refuses an unknown format (exit 2), naming the ones it knows', async () => {
    const r = await roost(user, ['export', name, '--format', 'helm']);
    expect(r.code, text(r)).toBe(2);
    expect(r.stderr).toContain("unknown export format 'helm'");
    expect(r.stderr).toContain('--format roost or --format kubevirt');
  });
});
