// The kubevirt.io/v1 VirtualMachine: the laptop VM's size, firmware and disks, on the pod network behind
// masquerade (the cluster's counterpart of passt: the guest sits behind the pod's address and Services reach it).
import type { V1Disk, V1Firmware, V1VirtualMachine, V1Volume } from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import { rootDiskName } from './data-volume.js';
import type { KubevirtCloudInit, KubevirtOptions, KubevirtRunStrategy, KubevirtSource } from './types.js';

export type VirtualMachine = Omit<V1VirtualMachine, 'spec'> & {
  apiVersion: 'kubevirt.io/v1';
  kind: 'VirtualMachine';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  spec: Omit<V1VirtualMachine['spec'], 'runStrategy'> & { runStrategy: KubevirtRunStrategy };
};

/** The label that ties the VM's pod to its Services (KubeVirt copies template labels onto the pod). */
export const DOMAIN_LABEL = 'kubevirt.io/domain';

/** KubeVirt refuses inline NoCloud user-data or network-data longer than this; larger goes in a Secret. */
export const INLINE_CLOUD_INIT_MAX_BYTES = 2048;

const ROOT_DISK = 'rootdisk';
const CLOUD_INIT_DISK = 'cloudinitdisk';
const POD_NETWORK = 'default';

export interface VmParts {
  kubeName: string;
  labels: Record<string, string>;
  /** The Secret that holds user-data too long to inline, if any. */
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
            devices: { disks: disksOf(src), interfaces: [{ name: POD_NETWORK, masquerade: {} }] },
          },
          networks: [{ name: POD_NETWORK, pod: {} }],
          volumes: volumesOf(src, parts),
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

function disksOf(src: KubevirtSource): V1Disk[] {
  const disks: V1Disk[] = [{ name: ROOT_DISK, disk: { bus: 'virtio' }, bootOrder: 1 }];
  if (src.cloudInit !== undefined) disks.push({ name: CLOUD_INIT_DISK, disk: { bus: 'virtio' } });
  return disks;
}

function volumesOf(src: KubevirtSource, parts: VmParts): V1Volume[] {
  const volumes: V1Volume[] = [{ name: ROOT_DISK, dataVolume: { name: rootDiskName(parts.kubeName) } }];
  if (src.cloudInit !== undefined) {
    volumes.push({ name: CLOUD_INIT_DISK, cloudInitNoCloud: noCloudSource(src.cloudInit, parts) });
  }
  return volumes;
}

/** The user-data inline when KubeVirt takes it so, else by reference to the Secret that holds it. */
function noCloudSource(
  cloudInit: KubevirtCloudInit,
  parts: VmParts,
): NonNullable<V1Volume['cloudInitNoCloud']> {
  if (parts.cloudInitSecret !== undefined) return { secretRef: { name: parts.cloudInitSecret } };
  return { userData: cloudInit.userData };
}

/** True when the user-data is too long to inline in the VirtualMachine. */
export function needsCloudInitSecret(cloudInit: KubevirtCloudInit): boolean {
  return new TextEncoder().encode(cloudInit.userData).length > INLINE_CLOUD_INIT_MAX_BYTES;
}
