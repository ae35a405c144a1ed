// Shared bases of linked clones through a fake daemon (libvirt/testing.ts): the names, the backing file read from
// a volume's XML, and releaseLinkedBases — a base goes only when no volume builds on it, then the one below it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../libvirt/api.js';
import { openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import { backingPathOf, isLinkedBase, linkedBaseName, releaseLinkedBases } from './linked-base.js';
import { volumeXml } from './storage.js';

let fake: FakeLibvirt;
let client: LibvirtClient;
const dir = '/pool';

function volume(name: string, backing?: string): string {
  const path = `${dir}/${name}`;
  const xml = volumeXml({
    name,
    capacityBytes: 1,
    backing: backing ? { path: backing, format: 'qcow2' } : undefined,
  });
  fake.volumes.set(path, { pool: 'roost', name, path, xml });
  return path;
}

beforeEach(async () => {
  ({ fake, client } = await openFakeLibvirt());
  fake.pools.set('roost', {
    name: 'roost',
    uuid: Buffer.alloc(16, 1),
    xml: `<pool type='dir'><name>roost</name><target><path>${dir}</path></target></pool>`,
    dir,
    active: true,
    autostart: true,
  });
});

afterEach(async () => {
  await client.close().catch(() => {});
});

describe('linked base names', () => {
  it('VOL.base-XXXXXXXX.EXT, recognised; a VM disk is not a base', () => {
    expect(linkedBaseName('web.qcow2', '0123abcd')).toBe('web.base-0123abcd.qcow2');
    expect(linkedBaseName('web.qcow2')).toMatch(/^web\.base-[0-9a-f]{8}\.qcow2$/);
    expect(isLinkedBase('/p/web.base-0123abcd.qcow2')).toBe(true);
    expect(isLinkedBase('/p/web.qcow2')).toBe(false);
    expect(isLinkedBase('/p/web.base.qcow2')).toBe(false);
  });

  it("reads a volume's backing file, unescaped", () => {
    expect(
      backingPathOf(
        volumeXml({ name: 'a', capacityBytes: 1, backing: { path: "/p/o'k.qcow2", format: 'qcow2' } }),
      ),
    ).toBe("/p/o'k.qcow2");
    expect(backingPathOf(volumeXml({ name: 'a', capacityBytes: 1 }))).toBeUndefined();
  });
});

describe('releaseLinkedBases', () => {
  it('keeps a base another volume builds on, deletes it with the last one, then the base below it', async () => {
    const image = '/images/debian.qcow2';
    const lower = volume('web.base-00000001.qcow2', image);
    const upper = volume('web.base-00000002.qcow2', lower);
    volume('web.qcow2', upper);
    const clone2 = volume('web3.qcow2', upper);
    // web2.qcow2 (on `lower`) was just deleted by rm: `lower` is still used by `upper`.
    expect(await releaseLinkedBases(client, [lower])).toEqual([]);
    expect(fake.volumes.has(lower)).toBe(true);

    // rm web3: `upper` still has web.qcow2.
    fake.volumes.delete(clone2);
    expect(await releaseLinkedBases(client, [upper])).toEqual([]);

    // rm web: the last user of `upper`, and so of `lower`; the image (not a base) is never touched.
    fake.volumes.delete(`${dir}/web.qcow2`);
    expect(await releaseLinkedBases(client, [upper])).toEqual([upper, lower]);
    expect([...fake.volumes.keys()]).toEqual([]);
  });

  it('never deletes a backing file that is not a shared base', async () => {
    const plain = volume('data.qcow2');
    expect(await releaseLinkedBases(client, [plain])).toEqual([]);
    expect(fake.volumes.has(plain)).toBe(true);
  });
});
