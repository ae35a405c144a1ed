// roost create's checks: everything about the request that can be checked before anything is made (names,
// sizes, files, the networks). A refusal is a UsageError (exit 2) and nothing has changed.
import { accessSync, constants } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { hostAccessProblem } from '../domain-xml/build.js';
import type { BootSpec, Firmware, NicSpec } from '../domain-xml/spec.js';
import { RoostError, UsageError } from '../errors.js';
import type { CloudConfig } from '../cloud-init/index.js';
import { assertIsoImage, assertRegularFile, assertUsableImage } from '../images/probe.js';
import { parsePortForward, type PortForward } from '../net/port-spec.js';
import type { CreateRequest } from './create.js';
import { cloudInitModule } from './create-steps.js';
import {
  checkCreateInput,
  checkVmName,
  looksLikeCatalogName,
  parseCpus,
  parseDiskBytes,
  parseMemoryMiB,
  parseNetworks,
} from './input.js';
import type { CheckedMount } from './mount-check.js';

export const DEFAULT_MEMORY = '2G';
export const DEFAULT_CPUS = '2';
/** Disk size for a new empty disk (ISO installs), and the least an image-based VM gets. */
export const DEFAULT_DISK = '20G';

export interface Checked {
  name: string;
  memoryMiB: number;
  cpus: number;
  boot: BootSpec;
  image?: { path: string; format: 'qcow2' | 'raw'; virtualSize: number };
  /** A catalogue name to resolve (download if needed) once every other check passed. */
  imageRef?: string;
  diskBytes?: number;
  /** Whether --disk was given (else it follows the image's size). */
  diskGiven: boolean;
  cloudInit?: CloudConfig;
  ports: PortForward[];
  mounts: CheckedMount[];
  /** One per --network, in order; a user NIC's forwards are filled in by createVm. */
  nics: NicSpec[];
  firmware: Firmware;
}

function readable(path: string, what: string): string {
  const abs = resolvePath(path);
  try {
    accessSync(abs, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      'FILE_UNREADABLE',
      `${what} '${path}' ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`,
    );
  }
  return assertRegularFile(abs, what);
}

/** Validates the whole request; throws UsageError (exit 2) with nothing changed. */
export async function checkCreateRequest(
  req: CreateRequest,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Checked> {
  checkCreateInput(req);
  const name = checkVmName(req.name);
  checkSources(req, name);
  const memoryMiB = parseMemoryMiB(req.memory ?? DEFAULT_MEMORY);
  const cpus = parseCpus(req.cpus ?? DEFAULT_CPUS);
  const ports = (req.ports ?? []).map(parsePortForward);
  const mounts = await checkCreateMounts(req, env);

  const nics = parseNetworks(req.network, ports.length > 0);
  const hostAccess = hostAccessProblem(req.hostAccess ?? 'loopback', nics);
  if (hostAccess) throw new RoostError('HOST_ACCESS_UNSUPPORTED', hostAccess, { hint: HOST_ACCESS_HINT });

  const boot = checkBoot(req);
  const { image, imageRef } = await checkImage(req);
  const diskBytes = checkDiskBytes(req, image, imageRef);
  checkImageOnlyOptions(req);
  const cloudInit = await userCloudConfig(req);
  // Cloud and installer images boot UEFI; a directly booted kernel needs no firmware of its own.
  const firmware = req.firmware ?? (req.kernel ? 'bios' : 'uefi');
  return {
    name,
    memoryMiB,
    cpus,
    boot,
    image,
    imageRef,
    diskBytes,
    diskGiven: req.disk !== undefined,
    ports,
    mounts,
    nics,
    firmware,
    cloudInit,
  };
}

/** Exactly one thing to boot: an image, an ISO, or a kernel (with its initrd and command line). */
function checkSources(req: CreateRequest, name: string): void {
  const sources = [req.image && '--image', req.iso && '--iso', req.kernel && '--kernel'].filter(Boolean);
  if (sources.length === 0) {
    throw new UsageError('NO_SOURCE', 'nothing to boot: give --image PATH, --iso PATH or --kernel PATH', {
      hint: `for example: roost create ${name} --image ./debian-12.qcow2`,
    });
  }
  if (req.iso && (req.image || req.kernel)) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '--iso installs onto an empty disk: it cannot be combined with --image or --kernel',
    );
  }
  if ((req.initrd || req.cmdline) && !req.kernel) {
    throw new UsageError('CONFLICTING_OPTIONS', '--initrd and --cmdline only make sense with --kernel');
  }
}

/**
 * --mount (each checked against the host and the others), and --mount-type only with a --mount. The checks load
 * only for a create that shares folders.
 */
async function checkCreateMounts(req: CreateRequest, env: NodeJS.ProcessEnv): Promise<CheckedMount[]> {
  const mounts = req.mounts?.length
    ? (await import('./mount-check.js')).checkMounts(req.mounts, { home: env.HOME, mountHome: req.mountHome })
    : [];
  if (req.mountType !== undefined && mounts.length === 0) {
    throw new UsageError('CONFLICTING_OPTIONS', '--mount-type needs --mount');
  }
  return mounts;
}

/** How the VM boots; the kernel, initrd and ISO must be readable regular files. */
function checkBoot(req: CreateRequest): BootSpec {
  if (req.kernel) {
    return {
      kind: 'kernel',
      kernel: readable(req.kernel, 'kernel'),
      initrd: req.initrd ? readable(req.initrd, 'initrd') : undefined,
      cmdline: req.cmdline,
    };
  }
  if (req.iso) return { kind: 'cdrom', iso: assertIsoImage(readable(req.iso, 'ISO image')) };
  return { kind: 'disk' };
}

/** --image: a catalogue name (resolved later), or a local file that is an image QEMU may be handed. */
async function checkImage(req: CreateRequest): Promise<Pick<Checked, 'image' | 'imageRef'>> {
  if (!req.image) return { image: undefined, imageRef: undefined };
  if (looksLikeCatalogName(req.image)) return { image: undefined, imageRef: req.image };
  const path = readable(req.image, 'image');
  // Refuses what QEMU must not be handed: a backing file, an external data file, a file that is no image.
  const facts = await assertUsableImage(path);
  return { image: { path, format: facts.format, virtualSize: facts.virtualSize }, imageRef: undefined };
}

/** The disk size: --disk (at least the image's size), else the image's size, at least DEFAULT_DISK. */
function checkDiskBytes(
  req: CreateRequest,
  image: Checked['image'],
  imageRef: string | undefined,
): number | undefined {
  let diskBytes: number | undefined;
  if (req.disk) diskBytes = parseDiskBytes(req.disk);
  if (image) {
    if (diskBytes !== undefined && diskBytes < image.virtualSize) {
      throw new UsageError(
        'DISK_TOO_SMALL',
        `--disk ${req.disk} is smaller than the image (${(image.virtualSize / 1024 ** 3).toFixed(1)} GiB)`,
        { hint: 'give a larger --disk, or leave it out to use the image size' },
      );
    }
    diskBytes ??= Math.max(image.virtualSize, parseDiskBytes(DEFAULT_DISK));
  } else if (req.iso || imageRef) {
    diskBytes ??= parseDiskBytes(DEFAULT_DISK);
  }
  return diskBytes;
}

/** --auto-ports and --cloud-init work through cloud-init, which only an image runs. */
function checkImageOnlyOptions(req: CreateRequest): void {
  if (req.autoPorts && !req.image) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '--auto-ports needs --image: it forwards over ssh, which a cloud image sets up',
    );
  }
  if ((req.cloudInit || req.cloudConfig) && !req.image) {
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      '--cloud-init needs --image (a cloud image reads the seed at first boot)',
    );
  }
}

/** The user's own cloud-config, from a file (--cloud-init) or given as text (the API, the web form), checked. */
async function userCloudConfig(req: CreateRequest): Promise<CloudConfig | undefined> {
  if (req.cloudInit && req.cloudConfig !== undefined) {
    throw new UsageError('CONFLICTING_OPTIONS', 'give the cloud-config as a file or as text, not both');
  }
  if (req.cloudInit) return (await cloudInitModule()).readCloudConfigFile(req.cloudInit);
  if (!req.cloudConfig?.trim()) return undefined;
  return (await cloudInitModule()).checkedCloudConfig(req.cloudConfig, 'the cloud-config given');
}

const HOST_ACCESS_HINT =
  'use --host-access loopback (and keep host services off 127.0.0.1 if the guest is not trusted), or --network ' +
  'bridge=NAME alone (a bridged guest cannot reach the host loopback); see docs/networking.md';
