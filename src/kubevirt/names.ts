// Kubernetes names for roost's VM names. roost allows names Kubernetes refuses (capitals, dots, underscores, a
// leading digit); a Service name is the strictest of the objects made here (an RFC 1035 label: a lowercase
// letter first, then lowercase letters, digits and '-', 63 at most), so every object's name is made to fit it —
// with room for the longest suffix of a derived object's name (NAME-cloudinit), so that one is a label too.
import { UsageError } from '../errors.js';

const MAX_LABEL = 63;
/** The longest suffix a derived object's name gets (cloud-init-secret.ts, data-volume.ts). */
const LONGEST_SUFFIX = '-cloudinit'.length;
const MAX_NAME = MAX_LABEL - LONGEST_SUFFIX;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The name as an RFC 1035 label, and a note when it had to change. */
export function kubeName(vmName: string): { name: string; note?: string } {
  if (DNS_1035_LABEL.test(vmName) && vmName.length <= MAX_NAME) return { name: vmName };
  let name = vmName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+/, '');
  if (/^[0-9]/.test(name)) name = `vm-${name}`;
  name = name.slice(0, MAX_NAME).replace(/-+$/, '');
  if (name === '') {
    throw new UsageError(
      'KUBEVIRT_NAME_INVALID',
      `the VM name '${vmName}' has no letter or digit to make a Kubernetes name from`,
      { hint: 'rename the VM to lowercase letters, digits and -, starting with a letter' },
    );
  }
  return {
    name,
    note: `name: '${vmName}' is not a valid Kubernetes name (lowercase letters, digits and -, a letter first, ${MAX_NAME} at most); the objects are named '${name}'`,
  };
}

/** Refuses a namespace Kubernetes would refuse, before anything is written. */
export function checkNamespace(namespace: string): void {
  if (DNS_1123_LABEL.test(namespace) && namespace.length <= MAX_LABEL) return;
  throw new UsageError('KUBEVIRT_NAMESPACE_INVALID', `'${namespace}' is not a valid Kubernetes namespace`, {
    hint: 'a namespace is lowercase letters, digits and -, 63 at most, starting and ending with a letter or digit',
  });
}

const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Refuses a storage class name Kubernetes would refuse (a DNS-1123 subdomain), before anything is written. */
export function checkStorageClass(name: string): void {
  if (DNS_1123_SUBDOMAIN.test(name) && name.length <= 253) return;
  throw new UsageError('KUBEVIRT_STORAGE_CLASS_INVALID', `'${name}' is not a valid storage class name`, {
    hint: 'a storage class is lowercase letters, digits, - and ., starting and ending with a letter or digit (kubectl get storageclass lists them)',
  });
}
