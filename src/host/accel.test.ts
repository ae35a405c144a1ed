import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AccelDecision,
  bootsWith,
  DEFAULT_PROBE_TIMEOUT_MS,
  detectAccel,
  isKvmRefusal,
  PROBE_MARKER,
  probeBootSector,
  reconcileWithDaemon,
  withAccelRetry,
} from './accel.js';

const dir = mkdtempSync(join(tmpdir(), 'roost-accel-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probe boot sector', () => {
  it('is one bootable sector carrying the marker', () => {
    const s = probeBootSector();
    expect(s.length).toBe(512);
    expect(s[510]).toBe(0x55);
    expect(s[511]).toBe(0xaa);
    // `mov si, msg` must point at the marker: 0x7C00 + its offset in the sector.
    const msgAddr = s.readUInt16LE(4);
    expect(s.toString('latin1', msgAddr - 0x7c00, msgAddr - 0x7c00 + PROBE_MARKER.length)).toBe(PROBE_MARKER);
  });

  it('really boots and prints its marker under TCG', async () => {
    expect(await bootsWith('tcg', 20_000)).toBe(true);
  }, 30_000);
});

describe('detectAccel', () => {
  it('falls back to TCG with a reason when the KVM device is missing', async () => {
    const d = await detectAccel({ kvmDevice: join(dir, 'no-kvm'), cacheFile: null });
    expect(d.accel).toBe('tcg');
    expect(d.reason).toMatch(/does not exist/);
  });

  it('agrees with a timed KVM boot, and caches per boot', async () => {
    const cacheFile = join(dir, 'accel.json');
    const first = await detectAccel({ cacheFile });
    // Independent witness: boot the probe under KVM with a generous limit and time it. KVM counts as working only
    // when it is quick (a broken nested KVM takes seconds, and a Linux kernel on it never gets past early boot).
    const started = Date.now();
    const kvmBoots = (await bootsWith('kvm', 10_000)) === true;
    const quick = kvmBoots && Date.now() - started < DEFAULT_PROBE_TIMEOUT_MS;
    if (first.accel === 'kvm') expect(kvmBoots).toBe(true);
    else if (quick) throw new Error('KVM booted the probe quickly, yet detectAccel chose TCG');
    expect(first.cached).toBe(false);
    const second = await detectAccel({ cacheFile });
    expect(second).toMatchObject({ accel: first.accel, cached: true, bootId: first.bootId });
    expect(JSON.parse(readFileSync(cacheFile, 'utf8')).bootId).toBe(first.bootId);
  }, 40_000);
});

describe('a cached kvm the daemon refuses', () => {
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const staleKvm: AccelDecision = { accel: 'kvm', reason: '/dev/kvm works', bootId, cached: true };
  const refusal = new Error(
    "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'kvm'",
  );

  it('recognises libvirt’s and QEMU’s ways of refusing KVM, and nothing else', () => {
    expect(isKvmRefusal(refusal)).toBe(true);
    expect(
      isKvmRefusal(new Error('x', { cause: new Error('Could not access KVM kernel module: EACCES') })),
    ).toBe(true);
    expect(isKvmRefusal(new Error("storage volume 'web.qcow2' exists already"))).toBe(false);
  });

  it('is probed afresh, corrected in the cache, and the step runs once more under tcg', async () => {
    const cacheFile = join(dir, 'stale.json');
    const tried: string[] = [];
    const r = await withAccelRetry(
      staleKvm,
      (d) => {
        tried.push(d.accel);
        return d.accel === 'kvm' ? Promise.reject(refusal) : Promise.resolve('defined');
      },
      {
        cacheFile,
        probe: () =>
          Promise.resolve({ accel: 'tcg', reason: '/dev/kvm is not usable', bootId, cached: false }),
      },
    );
    expect(tried).toEqual(['kvm', 'tcg']);
    expect(r).toMatchObject({ value: 'defined', accel: { accel: 'tcg', reason: '/dev/kvm is not usable' } });
    expect(JSON.parse(readFileSync(cacheFile, 'utf8'))).toMatchObject({ accel: 'tcg', bootId });
    expect(await detectAccel({ cacheFile })).toMatchObject({ accel: 'tcg', cached: true });
  });

  it('believes the daemon over a probe that still finds /dev/kvm usable', async () => {
    const r = await withAccelRetry(
      staleKvm,
      (d) => (d.accel === 'kvm' ? Promise.reject(refusal) : Promise.resolve(1)),
      {
        cacheFile: null,
        probe: () => Promise.resolve({ ...staleKvm, cached: false }),
      },
    );
    expect(r.accel.accel).toBe('tcg');
    expect(r.accel.reason).toMatch(/^libvirt refuses KVM \(unsupported configuration: .*virt type 'kvm'\)/);
  });

  it('does not retry other failures, nor a kvm the user asked for', async () => {
    const other = new Error('disk full');
    await expect(withAccelRetry(staleKvm, () => Promise.reject(other), { cacheFile: null })).rejects.toBe(
      other,
    );
    let calls = 0;
    await expect(
      withAccelRetry(staleKvm, () => (calls++, Promise.reject(refusal)), { cacheFile: null, forced: true }),
    ).rejects.toBe(refusal);
    expect(calls).toBe(1);
  });

  it('doctor’s view: a kvm decision the domain capabilities contradict becomes tcg, and the cache with it', () => {
    const cacheFile = join(dir, 'doctor.json');
    const qemuCaps =
      '<domainCapabilities><path>/usr/bin/qemu-system-x86_64</path><domain>qemu</domain></domainCapabilities>';
    const kvmCaps = qemuCaps.replace('<domain>qemu', '<domain>kvm');
    expect(reconcileWithDaemon(staleKvm, kvmCaps, cacheFile)).toBe(staleKvm);
    expect(reconcileWithDaemon(staleKvm, null, cacheFile)).toBe(staleKvm);
    const d = reconcileWithDaemon(staleKvm, qemuCaps, cacheFile);
    expect(d).toMatchObject({ accel: 'tcg', cached: false });
    expect(d.reason).toMatch(/daemon offers no KVM.*cache for this boot said kvm/);
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8'));
    expect(cached.accel).toBe('tcg');
    // What later commands repeat from the cache must not claim the cache said kvm.
    expect(cached.reason).toMatch(/daemon offers no KVM/);
    expect(cached.reason).not.toMatch(/cache/);
  });
});
