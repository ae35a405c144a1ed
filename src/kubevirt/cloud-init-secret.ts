// User-data too long for KubeVirt to take inline goes in a Secret the NoCloud volume names. A Secret is also where
// a cluster keeps what it should not show in the VM's spec; roost's user-data holds public keys and a password
// hash at most, so it stays inline while it fits.
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
