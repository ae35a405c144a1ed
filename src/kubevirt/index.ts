// roost VM → KubeVirt manifests (docs/kubevirt.md): a CDI DataVolume for the root disk, a kubevirt.io/v1
// VirtualMachine, a Secret for the cloud-init user-data and a Service for the port forwards, with a note for each thing
// of the laptop VM that does not carry over 1:1. Pure: no I/O, the same source gives the same bytes.
import { Document } from 'yaml';
import { buildCloudInitSecret, cloudInitSecretName } from './cloud-init-secret.js';
import { checkSource } from './check-source.js';
import { buildDataVolume } from './data-volume.js';
import { kubeName } from './names.js';
import { buildServices } from './services.js';
import type { KubeObject, KubevirtManifests, KubevirtOptions, KubevirtSource } from './types.js';
import { buildVirtualMachine } from './virtual-machine.js';

export type * from './types.js';

/** The manifests for one VM, in apply order, and the notes on what did not map. */
export function buildKubevirtManifests(src: KubevirtSource, opts: KubevirtOptions = {}): KubevirtManifests {
  checkSource(src, opts);
  const notes: string[] = [];
  const named = kubeName(src.name);
  if (named.note !== undefined) notes.push(named.note);
  const name = named.name;
  const labels = { 'app.kubernetes.io/name': name };
  const manifests: KubeObject[] = [buildDataVolume(src, name, labels, opts, notes)];
  let cloudInitSecret: string | undefined;
  if (src.cloudInit !== undefined) {
    cloudInitSecret = cloudInitSecretName(name);
    manifests.push(buildCloudInitSecret(src.cloudInit.userData, name, labels, opts.namespace));
  }
  manifests.push(buildVirtualMachine(src, { kubeName: name, labels, cloudInitSecret }, opts, notes));
  manifests.push(...buildServices(src.ports, name, labels, opts, notes));
  notes.push(...cloudInitNotes(src), ...bridgeNotes(src), ...mountNotes(src));
  return { manifests, notes };
}

/** roost's network-config matches the laptop NIC's MAC; the pod network's NIC has another, and DHCP suffices. */
function cloudInitNotes(src: KubevirtSource): string[] {
  if (src.cloudInit?.networkConfig === undefined) return [];
  return [
    "cloud-init: the network-config is left out: it names the laptop NIC's MAC address, and the guest gets its address on the pod network by DHCP",
  ];
}

function bridgeNotes(src: KubevirtSource): string[] {
  return (src.bridges ?? []).map(
    (b) =>
      `network: the NIC on bridge ${b} is left out: the VM is on the pod network; for a NIC on a node's network add a Multus NetworkAttachmentDefinition and a multus network to the VM`,
  );
}

function mountNotes(src: KubevirtSource): string[] {
  return src.mounts.map(
    (m) =>
      `mount ${m.hostDir} → ${m.guestDir}${m.readOnly ? ' (read-only)' : ''}: a cluster has no host directory to share; put the data in a PersistentVolumeClaim and add it to the VM as a disk or a virtiofs filesystem`,
  );
}

/**
 * A multi-document YAML stream for kubectl apply -f: the notes first, as comments, then one document per object
 * in apply order. Long strings are never folded, so user-data arrives byte for byte.
 */
export function kubevirtYaml(result: KubevirtManifests): string {
  const header = result.notes.flatMap((n) => n.split(/\r?\n/)).map((line) => `# ${line}`.trimEnd());
  // aliasDuplicateObjects off: an object met twice is written out twice, never as an anchor and an alias.
  const docs = result.manifests.map((m) =>
    new Document(m, { aliasDuplicateObjects: false }).toString({ lineWidth: 0 }),
  );
  const head = header.length > 0 ? `# Not carried over 1:1 (docs/kubevirt.md):\n${header.join('\n')}\n` : '';
  return head + docs.map((d) => `---\n${d}`).join('');
}
