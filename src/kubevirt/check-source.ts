// The few things about a source that would make a manifest the cluster refuses: checked before anything is
// built, so a bad description fails here with its field named rather than at kubectl apply.
import { UsageError } from '../errors.js';
import { checkNamespace, checkStorageClass } from './names.js';
import type { KubevirtOptions, KubevirtSource } from './types.js';

export function checkSource(src: KubevirtSource, opts: KubevirtOptions): void {
  positiveInteger('cpus', src.cpus);
  positiveInteger('memoryMiB', src.memoryMiB);
  positiveInteger('diskGiB', src.diskGiB);
  for (const p of src.ports) {
    if (p.proto !== 'tcp' && p.proto !== 'udp') invalid(`ports: '${String(p.proto)}' is not tcp or udp`);
    portNumber('hostPort', p.hostPort);
    portNumber('guestPort', p.guestPort);
  }
  if (opts.namespace !== undefined) checkNamespace(opts.namespace);
  if (opts.storageClassName !== undefined) checkStorageClass(opts.storageClassName);
}

function positiveInteger(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    invalid(`${field}: ${value} is not a whole number of 1 or more`);
}

function portNumber(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    invalid(`ports: ${field} ${value} is not 1-65535`);
}

function invalid(message: string): never {
  throw new UsageError('KUBEVIRT_SOURCE_INVALID', `cannot export to KubeVirt: ${message}`);
}
