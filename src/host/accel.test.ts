import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootsWith, DEFAULT_PROBE_TIMEOUT_MS, detectAccel, PROBE_MARKER, probeBootSector } from './accel.js';

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
    // when it is quick (here it takes ~5.5 s and a Linux kernel never gets past early boot).
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
