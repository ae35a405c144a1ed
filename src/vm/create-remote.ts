// The steps `roost create` adds over a qemu+ssh:// connection (remote.ts says where things go there): the
// kernel and initrd (or the installer ISO), the base image and the seed are uploaded into roost's pool on the remote host, each as a
// step of its own with its undo, and the accelerator is the remote daemon's to say.
import { rmSync } from 'node:fs';
import type { AccelDecision } from '../host/accel.js';
import { daemonOffersKvm } from '../host/accel.js';
import type { Checked } from './create-check.js';
import type { BaseImage, Login } from './create-steps.js';
import type { Making } from './create.js';
import type { VmContext } from './context.js';
import { uploadToPool, type RemotePlace } from './remote.js';

/** The checked request with its kernel and initrd replaced by their uploaded copies on the remote host. */
export async function uploadBootFiles(m: Making, place: RemotePlace): Promise<Checked> {
  const { boot } = m.c;
  if (boot.kind === 'cdrom') {
    const iso = await m.steps.run('upload', 'uploading the ISO to the remote host', () =>
      uploadToPool(m.ctx, place, boot.iso, `${m.c.name}.install.iso`, {
        rollback: m.rollback,
        vm: m.c.name,
        onProgress: m.req.onPullProgress,
      }),
    );
    return { ...m.c, boot: { kind: 'cdrom', iso } };
  }
  if (boot.kind !== 'kernel') return m.c;
  const upload = (from: string, suffix: string) =>
    uploadToPool(m.ctx, place, from, `${m.c.name}${suffix}`, {
      rollback: m.rollback,
      vm: m.c.name,
      onProgress: m.req.onPullProgress,
    });
  const uploaded = await m.steps.run('upload', 'uploading the kernel to the remote host', async () => ({
    kernel: await upload(boot.kernel, '.kernel'),
    initrd: boot.initrd === undefined ? undefined : await upload(boot.initrd, '.initrd'),
  }));
  return { ...m.c, boot: { ...boot, kernel: uploaded.kernel, initrd: uploaded.initrd } };
}

/** The base image as a volume NAME.base of the remote pool, which the VM's overlay disk is made on. */
export async function uploadImage(m: Making, place: RemotePlace, image: BaseImage): Promise<BaseImage> {
  m.onPhase('image');
  const path = await m.steps.run('upload', 'uploading the image to the remote host', () =>
    uploadToPool(m.ctx, place, image.path, `${m.c.name}.base`, {
      rollback: m.rollback,
      vm: m.c.name,
      onProgress: m.req.onPullProgress,
    }),
  );
  return { ...image, path };
}

/** The seed, written here, uploaded as NAME.seed.iso; the local copy is not kept. */
export async function uploadSeed(m: Making, place: RemotePlace, login: Login): Promise<Login> {
  const written = login.writtenSeed;
  if (!written) return login;
  try {
    const seedPath = await m.steps.run('upload-seed', 'uploading the seed to the remote host', () =>
      uploadToPool(m.ctx, place, written, `${m.c.name}.seed.iso`, { rollback: m.rollback, vm: m.c.name }),
    );
    return { sshUser: login.sshUser, sshKey: login.sshKey, seedPath };
  } finally {
    rmSync(written, { force: true });
  }
}

/** kvm when the remote daemon offers it (its domain capabilities say so), else tcg; --accel is obeyed. */
export async function remoteAccel(ctx: VmContext, want: 'auto' | 'kvm' | 'tcg'): Promise<AccelDecision> {
  if (want !== 'auto') return { accel: want, reason: `--accel ${want} given`, bootId: '', cached: false };
  const caps = await ctx.client.domainCapabilities().catch(() => '');
  return daemonOffersKvm(caps)
    ? { accel: 'kvm', reason: 'the remote daemon offers KVM', bootId: '', cached: false }
    : {
        accel: 'tcg',
        reason: 'the remote daemon offers no KVM: using TCG, which is much slower',
        bootId: '',
        cached: false,
      };
}
