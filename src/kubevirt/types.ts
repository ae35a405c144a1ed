// The input and output of the KubeVirt export (docs/kubevirt.md). The input is roost's description of one VM,
// made by whoever calls (the export command reads it from a VM or a roost VM file); this folder imports nothing
// of vm/, cli/ or server/, so the description is spelled out here rather than borrowed.

/** Where the VM's root disk comes from. One of url, path or ref is needed; url wins, then path, then ref. */
export interface KubevirtImage {
  /** A catalogue name (debian-12) or a container image reference (quay.io/containerdisks/debian:12). */
  ref?: string;
  /** An http(s) URL CDI imports from, or a docker:// / oci-archive:// reference. */
  url?: string;
  /** The image's sha256 (hex), when known: CDI checks an http import against it. */
  sha256?: string;
  /** A file on this machine: CDI cannot reach it, so it is uploaded with virtctl. */
  path?: string;
}

export type KubevirtFirmware = 'uefi' | 'bios';

export interface KubevirtPort {
  proto: 'tcp' | 'udp';
  /** The port on the laptop (passt's forward). */
  hostPort: number;
  /** The port in the guest. */
  guestPort: number;
  /** The laptop address the forward listens on (127.0.0.1, ::1, 0.0.0.0); none is all. */
  address?: string;
}

export interface KubevirtMount {
  hostDir: string;
  guestDir: string;
  readOnly: boolean;
}

export interface KubevirtCloudInit {
  userData: string;
  networkConfig?: string;
}

/** One roost VM as the export sees it. */
export interface KubevirtSource {
  name: string;
  image: KubevirtImage;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  firmware: KubevirtFirmware;
  ports: KubevirtPort[];
  mounts: KubevirtMount[];
  cloudInit?: KubevirtCloudInit;
  /** The bridges (virbr0, br0) the VM has a NIC on, besides the user-mode network its ports go through. */
  bridges?: string[];
  /** Started at login on the laptop: in a cluster, kept running (runStrategy Always). */
  autostart?: boolean;
}

/** How the port forwards are published: inside the cluster only, or on every node's address too. */
export type KubevirtServiceType = 'ClusterIP' | 'NodePort';

/** KubeVirt's run strategies (VirtualMachineSpec.runStrategy). */
export type KubevirtRunStrategy = 'Always' | 'RerunOnFailure' | 'Manual' | 'Halted' | 'Once';

export interface KubevirtOptions {
  /** metadata.namespace of every object; none leaves it to kubectl's current namespace. */
  namespace?: string;
  /** Default ClusterIP. */
  serviceType?: KubevirtServiceType;
  /** Default: Always for a VM that starts at login, else Manual (started by hand, as on the laptop). */
  runStrategy?: KubevirtRunStrategy;
  /** The DataVolume's storage class; none takes the cluster's default. */
  storageClassName?: string;
}

/** A Kubernetes object of any kind, as it goes into the YAML stream. */
export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string } } & object;

export interface KubevirtManifests {
  /** In apply order: the DataVolume, the VirtualMachine, then the Services. */
  manifests: KubeObject[];
  /** Everything of the VM that did not carry over 1:1, one sentence each, with what to do instead. */
  notes: string[];
}
