// Creating a VM a file describes: the file's fields as a create request (the same checks as `roost create`), the
// image's SHA-256 pin checked first, then createVm (which rolls itself back), the mark of the file it came
// from, and autostart. A failure after createVm removes the VM again, so it is either made as asked or absent.
import { createReadStream } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import type { VmSpec } from '../declarative/schema.js';
import { UsageError } from '../errors.js';
import { markApplied, recordable } from './apply-mark.js';
import { mountArgOf } from './apply-mounts.js';
import { autostartOn } from './autostart.js';
import type { VmContext } from './context.js';
import { createVm, looksLikeCatalogName, type CreateRequest } from './create.js';
import { lookupVm } from './lookup.js';
import { removeVm } from './remove.js';

/** The create request a VM file's entry stands for; `cloudInit` is the path of the cloud-config written for it. */
export function createRequestOf(spec: VmSpec, cloudInit: string | undefined): CreateRequest {
  const image =
    spec.image === undefined ? undefined : typeof spec.image === 'string' ? spec.image : spec.image.ref;
  return {
    name: spec.name,
    image,
    kernel: spec.kernel?.path,
    initrd: spec.kernel?.initrd,
    cmdline: spec.kernel?.cmdline,
    memory: spec.memory === undefined ? undefined : String(spec.memory),
    cpus: spec.cpus === undefined ? undefined : String(spec.cpus),
    disk: spec.disk === undefined ? undefined : String(spec.disk),
    ports: spec.ports,
    network: spec.networks,
    firmware: spec.firmware,
    sshUser: spec.cloudInit?.user,
    sshKey: spec.cloudInit?.sshKey,
    cloudInit,
    autoPorts: spec.autoPorts,
    mounts: spec.mounts?.map(mountArgOf),
  };
}

/** The cloud-config the file's cloudInit section stands for (userData, then packages and runcmd added), or undefined. */
export function cloudConfigOf(spec: VmSpec): string | undefined {
  const ci = spec.cloudInit;
  if (
    ci === undefined ||
    (ci.userData === undefined && ci.packages === undefined && ci.runcmd === undefined)
  ) {
    return undefined;
  }
  const config: Record<string, unknown> = {};
  if (ci.userData !== undefined) {
    const parsed: unknown = parseYaml(ci.userData, { maxAliasCount: 100 });
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new UsageError(
        'CLOUD_INIT_INVALID',
        `VM '${spec.name}': cloudInit.userData is not a YAML mapping (a #cloud-config)`,
      );
    }
    Object.assign(config, parsed ?? {});
  }
  if (ci.packages) config.packages = [...asList(config.packages), ...ci.packages];
  if (ci.runcmd) config.runcmd = [...asList(config.runcmd), ...ci.runcmd];
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** Refuses an image whose SHA-256 is not the file's pin (a catalogue image is fetched and verified first). */
export async function checkImagePin(ctx: VmContext, spec: VmSpec): Promise<void> {
  if (typeof spec.image !== 'object' || spec.image.sha256 === undefined) return;
  const { ref, sha256 } = spec.image;
  let path = resolvePath(ref);
  if (looksLikeCatalogName(ref)) {
    const { resolveImage } = await import('../images/store.js');
    path = (await resolveImage(ref, { paths: ctx.paths })).path;
  }
  const actual = await sha256Of(path);
  if (actual !== sha256) {
    throw new UsageError(
      'IMAGE_PIN_MISMATCH',
      `VM '${spec.name}': image ${ref} has SHA-256 ${actual}, the file pins ${sha256}`,
      {
        hint: 'check where the image came from; if the new one is right, put its SHA-256 in the file',
      },
    );
  }
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Creates, marks and (when asked) sets autostart; a failure leaves no VM (undone), and says whether it could. */
export async function createFromFile(
  ctx: VmContext,
  spec: VmSpec,
  file: string,
  signal?: AbortSignal,
): Promise<void> {
  const config = cloudConfigOf(spec);
  const dir = config === undefined ? undefined : mkdtempSync(join(tmpdir(), 'roost-apply-'));
  try {
    const path = dir === undefined ? undefined : join(dir, 'cloud-config.yaml');
    if (path !== undefined) writeFileSync(path, config!, { mode: 0o600 });
    const made = await createVm(ctx, createRequestOf(spec, path), () => {}, { signal });
    try {
      if (recordable(file)) await markApplied(ctx, await lookupVm(ctx, spec.name), file, made.started);
      if (spec.autostart) await autostartOn(ctx.uri, spec.name, false, { env: ctx.env });
    } catch (e) {
      await removeVm(ctx, spec.name, { force: true });
      throw e;
    }
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
