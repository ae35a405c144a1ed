// What a laptop VM becomes in KubeVirt (docs/kubevirt.md): the mapping of each field, the notes for what does not
// map, the objects' references to each other, and the YAML stream kubectl reads.
import type { V1CPU } from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { buildKubevirtManifests, kubevirtYaml } from './index.js';
import { DEBIAN_URL, FIXTURES, SAMPLES } from './testing.js';
import type { KubeObject, KubevirtSource } from './types.js';

const [web, tiny, buildBox, db] = SAMPLES.map((s) => s.src) as [
  KubevirtSource,
  KubevirtSource,
  KubevirtSource,
  KubevirtSource,
];

// The manifests as plain JSON, which is what kubectl sends: tests read them by path without the builders' types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function build(
  src: KubevirtSource,
  opts = {},
): { byKind: Record<string, Json>; notes: string[]; all: KubeObject[] } {
  const { manifests, notes } = buildKubevirtManifests(src, opts);
  return { byKind: Object.fromEntries(manifests.map((m) => [m.kind, m])), notes, all: manifests };
}

describe('the VirtualMachine', () => {
  it('has the laptop VM size, firmware and disks, on the pod network behind masquerade', () => {
    const vm = build(web).byKind.VirtualMachine;
    expect(vm.apiVersion).toBe('kubevirt.io/v1');
    const domain = vm.spec.template.spec.domain;
    expect(domain.cpu).toEqual({ cores: 2 });
    expect(domain.memory).toEqual({ guest: '2048Mi' });
    expect(domain.firmware).toEqual({ bootloader: { efi: { secureBoot: false } } });
    expect(domain.devices.interfaces).toEqual([{ name: 'default', masquerade: {} }]);
    expect(vm.spec.template.spec.networks).toEqual([{ name: 'default', pod: {} }]);
    expect(build(tiny).byKind.VirtualMachine.spec.template.spec.domain.firmware).toEqual({
      bootloader: { bios: {} },
    });
  });

  it('boots from the DataVolume and carries the same user-data in a NoCloud volume, by its Secret', () => {
    const { byKind, all } = build(web);
    const spec = byKind.VirtualMachine.spec.template.spec;
    expect(spec.volumes).toEqual([
      { name: 'rootdisk', dataVolume: { name: 'web-rootdisk' } },
      { name: 'cloudinitdisk', cloudInitNoCloud: { secretRef: { name: 'web-cloudinit' } } },
    ]);
    expect(spec.domain.devices.disks.map((d: Json) => d.name)).toEqual(['rootdisk', 'cloudinitdisk']);
    expect(byKind.DataVolume.metadata.name).toBe('web-rootdisk');
    expect(byKind.Secret.stringData).toEqual({ userdata: web.cloudInit!.userData });
    expect(all.map((m) => m.kind)).toEqual(['DataVolume', 'Secret', 'VirtualMachine', 'Service']);
    expect(build(tiny).byKind.VirtualMachine.spec.template.spec.volumes).toEqual([
      { name: 'rootdisk', dataVolume: { name: 'tiny-rootdisk' } },
    ]);
    expect(build(tiny).byKind.Secret).toBeUndefined();
  });

  it('keeps running when the VM starts at login, is started by hand otherwise, or as the caller says', () => {
    expect(build(buildBox).byKind.VirtualMachine.spec.runStrategy).toBe('Always');
    const manual = build(web);
    expect(manual.byKind.VirtualMachine.spec.runStrategy).toBe('Manual');
    expect(manual.notes).toContain(
      'start: the VM does not start at login, so it gets runStrategy Manual: start it with: virtctl start web',
    );
    expect(build(web, { runStrategy: 'Halted' }).byKind.VirtualMachine.spec.runStrategy).toBe('Halted');
  });

  it('puts user-data of any length in the Secret, over KubeVirt’s 2048-byte inline limit too', () => {
    const { byKind, all, notes } = build(buildBox);
    expect(all.map((m) => m.kind)).toEqual(['DataVolume', 'Secret', 'VirtualMachine', 'Service']);
    expect(byKind.Secret.metadata.name).toBe('build-box-1-cloudinit');
    expect(byKind.Secret.stringData).toEqual({ userdata: buildBox.cloudInit!.userData });
    expect(byKind.VirtualMachine.spec.template.spec.volumes[1]).toEqual({
      name: 'cloudinitdisk',
      cloudInitNoCloud: { secretRef: { name: 'build-box-1-cloudinit' } },
    });
    expect(notes.some((n) => n.startsWith('cloud-init:'))).toBe(false);
  });

  it('leaves out the laptop network-config and says why', () => {
    const { byKind, notes } = build(web);
    expect(JSON.stringify(byKind.VirtualMachine)).not.toContain('networkData');
    expect(notes.filter((n) => n.startsWith('cloud-init: the network-config is left out'))).toHaveLength(1);
  });
});

describe('the DataVolume', () => {
  it('imports an http image of the disk size, checked against its sha256', () => {
    const dv = build(web).byKind.DataVolume;
    expect(dv.apiVersion).toBe('cdi.kubevirt.io/v1beta1');
    expect(dv.spec).toEqual({
      source: { http: { url: DEBIAN_URL, checksum: `sha256:${'ab'.repeat(32)}` } },
      storage: { resources: { requests: { storage: '20Gi' } } },
    });
  });

  it('waits for an upload of a local image file, and says the virtctl command', () => {
    const { byKind, notes } = build(tiny);
    expect(byKind.DataVolume.spec.source).toEqual({ upload: {} });
    expect(notes).toContain(
      'image: /home/me/.local/share/roost/images/tiny.qcow2 is a file on this machine, which the cluster cannot reach; after kubectl apply, upload it with: virtctl image-upload dv tiny-rootdisk --no-create --image-path=/home/me/.local/share/roost/images/tiny.qcow2',
    );
  });

  it('imports from a registry by reference or docker:// URL, and asks for a digest pin when there is none', () => {
    const tagged = build(buildBox);
    expect(tagged.byKind.DataVolume.spec.source).toEqual({
      registry: { url: 'docker://quay.io/containerdisks/fedora:41' },
    });
    expect(tagged.notes.some((n) => n.includes('pin the reference by digest'))).toBe(true);
    const pinned = build(db);
    expect(pinned.byKind.DataVolume.spec.source.registry.url).toBe(db.image.url);
    expect(pinned.notes.some((n) => n.startsWith('image:'))).toBe(false);
  });

  it('takes the namespace and storage class given', () => {
    const { all, byKind } = build(db, { namespace: 'lab', storageClassName: 'fast-ssd' });
    expect(all.map((m: Json) => m.metadata.namespace)).toEqual(['lab', 'lab', 'lab', 'lab']);
    expect(byKind.DataVolume.spec.storage.storageClassName).toBe('fast-ssd');
  });

  it('refuses an image the cluster could not get, a bad sha256 and a bad namespace: usage errors', () => {
    const cases: [KubevirtSource, object, string][] = [
      [{ ...tiny, image: { ref: 'debian-12' } }, {}, 'KUBEVIRT_IMAGE_UNRESOLVED'],
      [{ ...tiny, image: { url: 'ftp://example.invalid/x.img' } }, {}, 'KUBEVIRT_IMAGE_URL'],
      [{ ...tiny, image: { url: DEBIAN_URL, sha256: 'abc' } }, {}, 'KUBEVIRT_IMAGE_SHA256'],
      [tiny, { namespace: 'Lab_1' }, 'KUBEVIRT_NAMESPACE_INVALID'],
      [tiny, { storageClassName: 'Fast_SSD' }, 'KUBEVIRT_STORAGE_CLASS_INVALID'],
      [tiny, { storageClassName: 'a/../b' }, 'KUBEVIRT_STORAGE_CLASS_INVALID'],
      [{ ...tiny, cpus: 0 }, {}, 'KUBEVIRT_SOURCE_INVALID'],
      [{ ...tiny, ports: [{ proto: 'tcp', hostPort: 70000, guestPort: 22 }] }, {}, 'KUBEVIRT_SOURCE_INVALID'],
      [{ ...tiny, name: '__' }, {}, 'KUBEVIRT_NAME_INVALID'],
    ];
    for (const [src, opts, code] of cases) {
      expect(() => buildKubevirtManifests(src, opts), code).toThrow(UsageError);
      expect(() => buildKubevirtManifests(src, opts)).toThrow(expect.objectContaining({ code, exitCode: 2 }));
    }
  });
});

describe('the Service for the port forwards', () => {
  it('maps each forward to port = laptop port, targetPort = guest port, with its protocol', () => {
    const svc = build(web).byKind.Service;
    expect(svc.spec).toEqual({
      type: 'ClusterIP',
      selector: { 'kubevirt.io/domain': 'web' },
      ports: [
        { name: 'tcp-2222', protocol: 'TCP', port: 2222, targetPort: 22 },
        { name: 'tcp-8080', protocol: 'TCP', port: 8080, targetPort: 80 },
        { name: 'udp-5353', protocol: 'UDP', port: 5353, targetPort: 53 },
      ],
    });
  });

  it('selects the VM’s pod: the selector is among the template’s labels', () => {
    for (const sample of SAMPLES) {
      const { byKind } = build(sample.src, sample.opts);
      if (byKind.Service === undefined) continue;
      expect(byKind.VirtualMachine.spec.template.metadata.labels).toMatchObject(byKind.Service.spec.selector);
    }
  });

  it('keeps a NodePort in the node-port range, lets the cluster pick it elsewhere, and says so', () => {
    const { byKind, notes } = build(buildBox, { serviceType: 'NodePort' });
    expect(byKind.Service.spec.ports).toEqual([
      { name: 'tcp-30022', protocol: 'TCP', port: 30022, targetPort: 22, nodePort: 30022 },
      { name: 'udp-9000', protocol: 'UDP', port: 9000, targetPort: 9000 },
    ]);
    expect(notes).toContain(
      'port udp 9000: outside the NodePort range 30000-32767, so the cluster picks the node port; see it with: kubectl get service',
    );
  });

  it('warns that a loopback-only forward becomes reachable on every node with NodePort', () => {
    const { notes } = build(web, { serviceType: 'NodePort' });
    expect(notes).toContain(
      "port tcp 127.0.0.1:2222: the laptop kept it on loopback, but a NodePort Service listens on every node's address; use ClusterIP to keep it private",
    );
  });

  it('says how to reach a loopback-only forward from this machine again, TCP or UDP', () => {
    const { notes } = build(web);
    expect(notes).toContain(
      "port tcp 127.0.0.1:2222: reachable inside the cluster only (ClusterIP); on this machine's loopback as before: virtctl port-forward vm/web 2222:22",
    );
    expect(notes).toContain(
      "port udp 127.0.0.1:5353: reachable inside the cluster only (ClusterIP); on this machine's loopback as before: virtctl port-forward vm/web udp/5353:53",
    );
    expect(
      build(web, { namespace: 'lab' }).notes.some((n) =>
        n.endsWith('virtctl port-forward vm/web/lab 2222:22'),
      ),
    ).toBe(true);
  });

  it('makes one Service port of two forwards that differ only in their address', () => {
    const twice: KubevirtSource = {
      ...tiny,
      ports: [
        { proto: 'tcp', hostPort: 2222, guestPort: 22, address: '127.0.0.1' },
        { proto: 'tcp', hostPort: 2222, guestPort: 22, address: '::1' },
        { proto: 'tcp', hostPort: 8080, guestPort: 80, address: '127.0.0.1' },
        { proto: 'tcp', hostPort: 8080, guestPort: 8000, address: '::1' },
      ],
    };
    const { byKind, notes } = build(twice);
    expect(byKind.Service.spec.ports.map((p: Json) => [p.port, p.targetPort])).toEqual([
      [2222, 22],
      [8080, 80],
    ]);
    expect(notes).toContain(
      'port tcp 8080: forwarded to guest ports 80 and 8000 from two addresses; a Service port has one target, so it goes to 80',
    );
  });

  it('is not made for a VM without forwards', () => {
    expect(build(tiny).all.map((m) => m.kind)).toEqual(['DataVolume', 'VirtualMachine']);
  });
});

describe('what has no counterpart in a cluster', () => {
  it('notes each mount and bridge NIC, with what to use instead', () => {
    const { notes, byKind } = build(db);
    expect(notes).toContain(
      'mount /srv/pgdata → /var/lib/postgresql: a cluster has no host directory to share; put the data in a PersistentVolumeClaim and add it to the VM as a disk or a virtiofs filesystem',
    );
    expect(notes).toContain(
      "network: the NIC on bridge virbr0 is left out: the VM is on the pod network; for a NIC on a node's network add a Multus NetworkAttachmentDefinition and a multus network to the VM",
    );
    expect(JSON.stringify(byKind.VirtualMachine)).not.toContain('/srv/pgdata');
  });

  it('renames a VM Kubernetes would refuse, and says to what', () => {
    const { all, notes } = build(buildBox);
    expect(new Set(all.map((m) => m.metadata.name))).toEqual(
      new Set(['build-box-1-rootdisk', 'build-box-1-cloudinit', 'build-box-1']),
    );
    expect(notes[0]).toBe(
      "name: 'Build_Box.1' is not a valid Kubernetes name (lowercase letters, digits and -, a letter first, 53 at most); the objects are named 'build-box-1'",
    );
    expect(build({ ...tiny, name: '9lives' }).byKind.VirtualMachine.metadata.name).toBe('vm-9lives');
    expect(build({ ...tiny, name: 'a'.repeat(80) }).byKind.VirtualMachine.metadata.name).toBe('a'.repeat(53));
  });

  it('has no notes for a VM that maps 1:1', () => {
    const plain: KubevirtSource = { ...tiny, image: { url: DEBIAN_URL }, autostart: true };
    expect(buildKubevirtManifests(plain).notes).toEqual([]);
  });
});

describe('the YAML stream', () => {
  it('parses back to the same objects, in apply order, with user-data byte for byte', () => {
    for (const sample of SAMPLES) {
      const result = buildKubevirtManifests(sample.src, sample.opts);
      const docs = parseAllDocuments(kubevirtYaml(result));
      expect(docs.every((d) => d.errors.length === 0)).toBe(true);
      expect(docs.map((d) => d.toJSON())).toEqual(JSON.parse(JSON.stringify(result.manifests)));
    }
    const awkward =
      '#cloud-config\nruncmd:\n  - echo "a: b" # not a comment   \n\n\t- tab\n' + 'x'.repeat(300);
    const result = buildKubevirtManifests({ ...web, cloudInit: { userData: awkward } });
    const secret = parseAllDocuments(kubevirtYaml(result))[1]!.toJSON();
    expect(secret.stringData.userdata).toBe(awkward);
  });

  it('starts with the notes as comments, each line commented even when a note holds a newline', () => {
    const odd: KubevirtSource = { ...tiny, image: { path: '/tmp/evil\nkind: Pod\n.qcow2' } };
    const text = kubevirtYaml(buildKubevirtManifests(odd));
    expect(
      text.startsWith('# Not carried over 1:1 (docs/kubevirt.md):\n# image: /tmp/evil\n# kind: Pod\n'),
    ).toBe(true);
    expect(parseAllDocuments(text).map((d) => d.toJSON().kind)).toEqual(['DataVolume', 'VirtualMachine']);
  });

  it('is the same bytes for the same VM', () => {
    const a = kubevirtYaml(buildKubevirtManifests(web));
    const b = kubevirtYaml(buildKubevirtManifests(structuredClone(web)));
    expect(a).toBe(b);
  });
});

describe('docs/kubevirt.md', () => {
  it('shows the export of the sample VM web exactly as the code writes it', () => {
    const doc = readFileSync(`${FIXTURES}/../../../docs/kubevirt.md`, 'utf8');
    const block = /<!-- kubevirt-sample: web -->\n```yaml\n([\s\S]*?)```\n/.exec(doc)?.[1];
    expect(block).toBe(kubevirtYaml(buildKubevirtManifests(web)));
  });
});

describe('the typed KubeVirt models', () => {
  it('make a misspelt field a compile error (npm run typecheck checks this file)', () => {
    // @ts-expect-error: KubeVirt's CPU has `cores`, not `core`
    const cpu: V1CPU = { core: 2 };
    expect(cpu).toEqual({ core: 2 });
  });
});
