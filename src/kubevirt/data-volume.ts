// The root disk as a CDI DataVolume: CDI imports the image into a PersistentVolumeClaim of the VM's disk size,
// from an http(s) URL or a registry, or waits for an upload when the image is a file on this laptop.
import type {
  V1beta1DataVolume,
  V1beta1DataVolumeSource,
  V1beta1DataVolumeSourceHTTP,
} from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import { UsageError } from '../errors.js';
import type { KubevirtImage, KubevirtOptions, KubevirtSource } from './types.js';

/** CDI's http source has had `checksum` since CDI v1.65; the typed models predate it. */
type HttpSource = V1beta1DataVolumeSourceHTTP & { checksum?: string };
type DataVolumeSource = Omit<V1beta1DataVolumeSource, 'http'> & { http?: HttpSource };
export type DataVolume = Omit<V1beta1DataVolume, 'spec'> & {
  apiVersion: 'cdi.kubevirt.io/v1beta1';
  kind: 'DataVolume';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  spec: Omit<V1beta1DataVolume['spec'], 'source'> & { source: DataVolumeSource };
};

const REGISTRY_SCHEMES = /^(docker|oci-archive):\/\//;
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** The name of the VM's root DataVolume (and of the PVC CDI makes for it). */
export function rootDiskName(kubeName: string): string {
  return `${kubeName}-rootdisk`;
}

export function buildDataVolume(
  src: KubevirtSource,
  kubeName: string,
  labels: Record<string, string>,
  opts: KubevirtOptions,
  notes: string[],
): DataVolume {
  return {
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: {
      name: rootDiskName(kubeName),
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      labels,
    },
    spec: {
      source: imageSource(src.image, kubeName, notes),
      storage: {
        resources: { requests: { storage: `${src.diskGiB}Gi` } },
        ...(opts.storageClassName !== undefined ? { storageClassName: opts.storageClassName } : {}),
      },
    },
  };
}

/** Where CDI gets the image: url first (http or registry), then a local file (upload), then a registry ref. */
function imageSource(image: KubevirtImage, kubeName: string, notes: string[]): DataVolumeSource {
  if (image.url !== undefined) return urlSource(image.url, image, notes);
  if (image.path !== undefined) {
    notes.push(
      `image: ${image.path} is a file on this machine, which the cluster cannot reach; after kubectl apply, upload it with: virtctl image-upload dv ${rootDiskName(kubeName)} --no-create --image-path=${image.path}`,
    );
    return { upload: {} };
  }
  if (image.ref !== undefined && isRegistryRef(image.ref)) {
    return registrySource(
      REGISTRY_SCHEMES.test(image.ref) ? image.ref : `docker://${image.ref}`,
      image,
      notes,
    );
  }
  throw new UsageError(
    'KUBEVIRT_IMAGE_UNRESOLVED',
    image.ref !== undefined
      ? `the image '${image.ref}' has no URL the cluster could import it from`
      : 'the VM has no image to import',
    { hint: 'give the image an http(s) URL or a container image reference (quay.io/containerdisks/…)' },
  );
}

function urlSource(url: string, image: KubevirtImage, notes: string[]): DataVolumeSource {
  if (REGISTRY_SCHEMES.test(url)) return registrySource(url, image, notes);
  if (!/^https?:\/\//.test(url)) {
    throw new UsageError('KUBEVIRT_IMAGE_URL', `CDI cannot import from '${url}'`, {
      hint: 'use an http(s):// URL, a docker:// or oci-archive:// reference, or a local file (uploaded with virtctl)',
    });
  }
  const http: HttpSource = { url };
  if (image.sha256 !== undefined) {
    if (!SHA256_HEX.test(image.sha256)) {
      throw new UsageError('KUBEVIRT_IMAGE_SHA256', `'${image.sha256}' is not a sha256 (64 hex digits)`);
    }
    http.checksum = `sha256:${image.sha256.toLowerCase()}`;
    notes.push('image: the sha256 pin is CDI checksum verification, which needs CDI v1.65 or later');
  }
  return { http };
}

/** A container image reference rather than a catalogue name: it has a registry host or a path. */
function isRegistryRef(ref: string): boolean {
  return REGISTRY_SCHEMES.test(ref) || ref.includes('/');
}

/** A registry import: a digest in the reference pins it; the disk file's sha256 cannot. */
function registrySource(url: string, image: KubevirtImage, notes: string[]): DataVolumeSource {
  const pinned = url.includes('@sha256:');
  if (image.sha256 !== undefined) {
    notes.push(
      `image: the sha256 pin of the disk file does not apply to a registry import${pinned ? '; the digest in the reference pins it' : '; pin the reference by digest (…@sha256:…) instead'}`,
    );
  } else if (!pinned) {
    notes.push(
      'image: a registry tag can move; pin the reference by digest (…@sha256:…) to import the same image every time',
    );
  }
  return { registry: { url } };
}
