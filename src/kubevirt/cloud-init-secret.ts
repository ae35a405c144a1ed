// The user-data goes in a Secret the NoCloud volume names, never inline in the VirtualMachine: it holds the login
// user's ssh keys and whatever the user's own cloud-config adds (a password hash, chpasswd, tokens in runcmd), and
// a VirtualMachine's spec is readable by everyone who may list VMs in the namespace, shown by `kubectl get -o
// yaml` and copied into the VMI and its events. A Secret has its own RBAC, and it also lifts KubeVirt's
// 2048-byte limit on inline user-data.
export interface CloudInitSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  type: 'Opaque';
  /** KubeVirt reads the key `userdata` (and `networkdata`) of the Secret. */
  stringData: { userdata: string };
}

export function cloudInitSecretName(kubeName: string): string {
  return `${kubeName}-cloudinit`;
}

export function buildCloudInitSecret(
  userData: string,
  kubeName: string,
  labels: Record<string, string>,
  namespace: string | undefined,
): CloudInitSecret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: cloudInitSecretName(kubeName),
      ...(namespace !== undefined ? { namespace } : {}),
      labels,
    },
    type: 'Opaque',
    stringData: { userdata: userData },
  };
}
