// roost create: from what the user typed to a defined (and usually running) VM.
//
// Everything that can be checked is checked before anything is made (names, sizes, files, ports, a free name);
// then each step that makes something registers how to undo it, and a failure part way — the daemon refusing
// the XML, QEMU failing to start — undoes them in reverse, so no half-defined domain or orphan volume is left.
import { accessSync, constants } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { buildDomainXml } from '../domain-xml/build.js';
import type { BootSpec, DiskSpec, Firmware, NicSpec, VmSpec } from '../domain-xml/spec.js';
import { UsageError } from '../errors.js';
import { detectAccel, type AccelDecision } from '../host/accel.js';
import { probeImage } from '../images/probe.js';
import { isNotFound } from '../libvirt/errors.js';
import { checkForwards } from '../net/port-check.js';
import { parsePortForward, type PortForward } from '../net/port-spec.js';
import { ensurePrivateDir } from '../paths.js';
import type { VmContext } from './context.js';
import { checkVmName, parseCpus, parseDiskBytes, parseMemoryMiB } from './input.js';
import { existingForwards } from './forwards.js';
import { formatUuid } from './lookup.js';
import { forgetHostKey, syncSshConfig } from './ssh.js';
import { createDisk, deleteVolumeAt, ensurePool } from './storage.js';
import { VERSION } from '../version.js';

export interface CreateRequest {
  name: string;
  image?: string;
  iso?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  memory?: string;
  cpus?: string;
  disk?: string;
  ports?: string[];
  /** 'user' (passt, the default) or 'bridge=NAME'. */
  network?: string;
  accel?: 'auto' | 'kvm' | 'tcg';
  firmware?: Firmware;
  sshUser?: string;
  sshKey?: string;
  /** Start the VM once defined (default true). */
  start?: boolean;
}

export type CreatePhase = 'disk' | 'defining' | 'starting';

export interface CreateResult {
  name: string;
  uuid: string;
  accel: AccelDecision;
  disk?: string;
  ports: PortForward[];
  started: boolean;
  xml: string;
}

export const DEFAULT_MEMORY = '2G';
export const DEFAULT_CPUS = '2';
/** Disk size for a new empty disk (ISO installs), and the least an image-based VM gets. */
export const DEFAULT_DISK = '20G';

interface Checked {
  name: string;
  memoryMiB: number;
  cpus: number;
  boot: BootSpec;
  image?: { path: string; format: 'qcow2' | 'raw'; virtualSize: number };
  diskBytes?: number;
  ports: PortForward[];
  nic: NicSpec;
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
  return abs;
}

/** Validates the whole request; throws UsageError (exit 2) with nothing changed. */
export async function checkCreateRequest(req: CreateRequest): Promise<Checked> {
  const name = checkVmName(req.name);
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
  const memoryMiB = parseMemoryMiB(req.memory ?? DEFAULT_MEMORY);
  const cpus = parseCpus(req.cpus ?? DEFAULT_CPUS);
  const ports = (req.ports ?? []).map(parsePortForward);

  let nic: NicSpec;
  const network = req.network ?? 'user';
  if (network === 'user') {
    nic = {
      kind: 'user',
      ports: ports.map((p) => ({ ...p, hostEnd: p.hostEnd === p.hostStart ? undefined : p.hostEnd })),
    };
  } else if (/^bridge=[A-Za-z0-9_.-]{1,15}$/.test(network)) {
    if (ports.length) {
      throw new UsageError(
        'CONFLICTING_OPTIONS',
        '--port needs user networking (passt); a bridged VM is reached at its own IP',
        {
          hint: 'drop --port, or use --network user',
        },
      );
    }
    nic = { kind: 'bridge', bridge: network.slice('bridge='.length) };
  } else {
    throw new UsageError(
      'INVALID_NETWORK',
      `invalid --network '${network}': use 'user' or 'bridge=NAME' (e.g. bridge=virbr0)`,
    );
  }

  let boot: BootSpec;
  let image: Checked['image'];
  if (req.kernel) {
    boot = {
      kind: 'kernel',
      kernel: readable(req.kernel, 'kernel'),
      initrd: req.initrd ? readable(req.initrd, 'initrd') : undefined,
      cmdline: req.cmdline,
    };
  } else if (req.iso) {
    boot = { kind: 'cdrom', iso: readable(req.iso, 'ISO image') };
  } else {
    boot = { kind: 'disk' };
  }
  if (req.image) {
    const path = readable(req.image, 'image');
    const facts = await probeImage(path);
    if (facts.backingFile) {
      throw new UsageError(
        'IMAGE_HAS_BACKING',
        `image '${req.image}' is itself an overlay on '${facts.backingFile}'`,
        {
          hint: `flatten it first: qemu-img convert -O qcow2 '${req.image}' flat.qcow2`,
        },
      );
    }
    image = { path, format: facts.format, virtualSize: facts.virtualSize };
  }

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
  } else if (req.iso) {
    diskBytes ??= parseDiskBytes(DEFAULT_DISK);
  }
  // Cloud and installer images boot UEFI; a directly booted kernel needs no firmware of its own.
  const firmware = req.firmware ?? (req.kernel ? 'bios' : 'uefi');
  return { name, memoryMiB, cpus, boot, image, diskBytes, ports, nic, firmware };
}

/** Creates the VM; `onPhase` reports progress for the CLI's progress line. */
export async function createVm(
  ctx: VmContext,
  req: CreateRequest,
  onPhase: (p: CreatePhase) => void = () => {},
): Promise<CreateResult> {
  // Checks are quick and print nothing: a refusal is one message, not a progress line plus a message.
  const c = await checkCreateRequest(req);
  const { client, paths } = ctx;

  const taken = await client.lookupDomain(c.name).then(
    () => true,
    (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
  );
  if (taken) {
    throw new UsageError('NAME_TAKEN', `a VM named '${c.name}' already exists`, {
      hint: `pick another name, or remove it first: roost rm ${c.name}`,
    });
  }
  await checkForwards(c.ports, { existing: await existingForwards(client) });
  const accel = await chooseAccel(req.accel ?? 'auto', paths.cache);

  const undo: (() => Promise<unknown>)[] = [];
  try {
    const disks: DiskSpec[] = [];
    let diskPath: string | undefined;
    if (c.diskBytes !== undefined) {
      onPhase('disk');
      const pool = await ensurePool(client, paths);
      const { path } = await createDisk(client, pool, {
        name: `${c.name}.qcow2`,
        capacityBytes: c.diskBytes,
        backing: c.image ? { path: c.image.path, format: c.image.format } : undefined,
      });
      diskPath = path;
      undo.push(() => deleteVolumeAt(client, path));
      disks.push({ path, format: 'qcow2' });
    }
    ensurePrivateDir(paths.logs);
    ensurePrivateDir(paths.sockets);
    const spec: VmSpec = {
      name: c.name,
      accel: accel.accel,
      memoryMiB: c.memoryMiB,
      cpus: c.cpus,
      firmware: c.firmware,
      machine: 'q35',
      boot: c.boot,
      disks,
      network: [c.nic],
      serialLog: `${paths.logs}/${c.name}.serial.log`,
      vnc: { socket: `${paths.sockets}/${c.name}.vnc` },
      guestAgent: true,
      roost: {
        createdBy: `roost ${VERSION}`,
        createdAt: new Date().toISOString(),
        imageRef: req.image ? resolvePath(req.image) : req.iso ? resolvePath(req.iso) : undefined,
        sshUser: req.sshUser,
        sshKeyPath: req.sshKey ? resolvePath(req.sshKey) : undefined,
      },
    };
    const xml = buildDomainXml(spec);
    onPhase('defining');
    const VALIDATE = 1;
    let dom = await client.defineDomain(xml, VALIDATE);
    undo.push(() => client.undefineDomain(dom, 4 /* NVRAM */));
    let started = false;
    if (req.start ?? true) {
      onPhase('starting');
      dom = await client.startDomain(dom);
      started = true;
    }
    return {
      name: c.name,
      uuid: dom.uuid.toString('hex'),
      accel,
      disk: diskPath,
      ports: c.ports,
      started,
      xml,
    };
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw err;
  }
}

async function chooseAccel(want: 'auto' | 'kvm' | 'tcg', cacheDir: string): Promise<AccelDecision> {
  if (want === 'auto') return detectAccel({ cacheFile: `${cacheDir}/accel.json` });
  return { accel: want, reason: `--accel ${want} given`, bootId: '', cached: false };
}
