// The kubevirt.io/v1 VirtualMachine: the laptop VM's size, firmware and disks, on the pod network behind
// masquerade (the cluster's counterpart of passt: the guest sits behind the pod's address and Services reach it).
import type { V1Disk, V1Firmware, V1VirtualMachine, V1Volume } from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import { rootDiskName } from './data-volume.js';
import type { KubevirtOptions, KubevirtRunStrategy, KubevirtSource } from './types.js';

export type VirtualMachine = Omit<V1VirtualMachine, 'spec'> & {
  apiVersion: 'kubevirt.io/v1';
  kind: 'VirtualMachine';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  spec: Omit<V1VirtualMachine['spec'], 'runStrategy'> & { runStrategy: KubevirtRunStrategy };
};

/** The label that ties the VM's pod to its Services (KubeVirt copies template labels onto the pod). */
export const DOMAIN_LABEL = 'kubevirt.io/domain';

const ROOT_DISK = 'rootdisk';
const CLOUD_INIT_DISK = 'cloudinitdisk';
const POD_NETWORK = 'default';

export interface VmParts {
  kubeName: string;
  labels: Record<string, string>;
  /** The Secret that holds the user-data (cloud-init-secret.ts), when the VM has cloud-init. */
  cloudInitSecret?: string;
}

export function buildVirtualMachine(
  src: KubevirtSource,
  parts: VmParts,
  opts: KubevirtOptions,
  notes: string[],
): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name: parts.kubeName,
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      labels: parts.labels,
    },
    spec: {
      runStrategy: runStrategyOf(src, opts, parts.kubeName, notes),
      template: {
        metadata: { labels: { ...parts.labels, [DOMAIN_LABEL]: parts.kubeName } },
        spec: {
          domain: {
            cpu: { cores: src.cpus },
            memory: { guest: `${src.memoryMiB}Mi` },
            firmware: firmwareOf(src),
            devices: { disks: disksOf(parts), interfaces: [{ name: POD_NETWORK, masquerade: {} }] },
          },
          networks: [{ name: POD_NETWORK, pod: {} }],
          volumes: volumesOf(parts),
        },
      },
    },
  };
}

/** Started at login → kept running; else started by hand, as on the laptop — unless the caller says. */
function runStrategyOf(
  src: KubevirtSource,
  opts: KubevirtOptions,
  kubeName: string,
  notes: string[],
): KubevirtRunStrategy {
  if (opts.runStrategy !== undefined) return opts.runStrategy;
  if (src.autostart === true) return 'Always';
  notes.push(
    `start: the VM does not start at login, so it gets runStrategy Manual: start it with: virtctl start ${kubeName}`,
  );
  return 'Manual';
}

/** Secure boot off, as roost's own UEFI VMs have it (the secure builds need SMM). */
function firmwareOf(src: KubevirtSource): V1Firmware {
  return { bootloader: src.firmware === 'uefi' ? { efi: { secureBoot: false } } : { bios: {} } };
}

function disksOf(parts: VmParts): V1Disk[] {
  const disks: V1Disk[] = [{ name: ROOT_DISK, disk: { bus: 'virtio' }, bootOrder: 1 }];
  if (parts.cloudInitSecret !== undefined) disks.push({ name: CLOUD_INIT_DISK, disk: { bus: 'virtio' } });
  return disks;
}

function volumesOf(parts: VmParts): V1Volume[] {
  const volumes: V1Volume[] = [{ name: ROOT_DISK, dataVolume: { name: rootDiskName(parts.kubeName) } }];
  // The user-data only by reference to its Secret: never inline in the VM's spec (cloud-init-secret.ts says why).
  if (parts.cloudInitSecret !== undefined) {
    volumes.push({ name: CLOUD_INIT_DISK, cloudInitNoCloud: { secretRef: { name: parts.cloudInitSecret } } });
  }
  return volumes;
}
