// snapshot create and revert through a fake daemon (libvirt/testing.ts): a running VM with shared folders gets
// no memory snapshot (a usage error naming the folders and --disk-only, and no snapshot call reaches libvirt),
// while a disk-only one goes ahead; a revert while another operation holds the VM says it is busy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../libvirt/api.js';
import { FakeLibvirtError, openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import { DomainDefineFlags } from '../libvirt/types.js';
import { roostPaths } from '../paths.js';
import type { VmContext } from './context.js';
import { sharedFolders } from './snapshot-checks.js';
import { createVmSnapshot, revertVmSnapshot } from './snapshot.js';

let dir: string;
let fake: FakeLibvirt;
let client: LibvirtClient;
let ctx: VmContext;

const OPERATION_TIMEOUT = 68;

const domainXml = (devices: string) => `<domain type='qemu'>
  <name>web</name>
  <memory unit='KiB'>262144</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>${devices}</devices>
</domain>
`;

const NINE_P = `
    <filesystem type='mount' accessmode='mapped'>
      <source dir='/home/me/src'/>
      <target dir='src'/>
    </filesystem>`;

async function defineWeb(devices: string, active: boolean): Promise<void> {
  await client.defineDomain(domainXml(devices), DomainDefineFlags.VALIDATE);
  fake.domains.get('web')!.active = active;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roost-snap-'));
  ({ fake, client } = await openFakeLibvirt());
  const env = { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'run') };
  ctx = { client, uri: 'qemu:///session', paths: roostPaths(env), env, close: () => client.close() };
  fake.answer('STORAGE_POOL_REFRESH', () => undefined);
});

afterEach(async () => {
  await client.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe('sharedFolders', () => {
  it("names each <filesystem>'s mount tag, 9p or virtiofs; none without", () => {
    const virtiofs = `<filesystem type='mount'><driver type='virtiofs'/><source dir='/d'/><target dir='data'/></filesystem>`;
    expect(sharedFolders(domainXml(NINE_P + virtiofs))).toEqual(['src', 'data']);
    expect(sharedFolders(domainXml(`<disk type='file' device='disk'/>`))).toEqual([]);
  });
});

describe('snapshot create of a VM with shared folders', () => {
  it('running, with memory: refused (exit 2) before libvirt is asked, with the fix', async () => {
    await defineWeb(NINE_P, true);
    const err = await createVmSnapshot(ctx, 'web', 's1').catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'SNAPSHOT_SHARED_FOLDERS',
      exitCode: 2,
      message: expect.stringContaining('shared folders cannot be saved with memory state'),
      hint: expect.stringContaining('roost snapshot create web s1 --disk-only'),
    });
    expect((err as Error).message).toContain('(src)');
    expect(fake.calls).not.toContain('DOMAIN_SNAPSHOT_CREATE_XML');
  });

  it('running, --disk-only: not refused, the snapshot is asked of libvirt', async () => {
    await defineWeb(NINE_P, true);
    fake.before = (name) => {
      if (name === 'DOMAIN_SNAPSHOT_CREATE_XML') throw new FakeLibvirtError(1, 'reached libvirt');
    };
    const err = await createVmSnapshot(ctx, 'web', 's1', { diskOnly: true }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('reached libvirt');
    expect(fake.calls).toContain('DOMAIN_SNAPSHOT_CREATE_XML');
  });

  it('shut off: nothing to save in memory, not refused', async () => {
    await defineWeb(NINE_P, false);
    fake.before = (name) => {
      if (name === 'DOMAIN_SNAPSHOT_CREATE_XML') throw new FakeLibvirtError(1, 'reached libvirt');
    };
    const err = await createVmSnapshot(ctx, 'web', 's1').catch((e: unknown) => e);
    expect((err as Error).message).toContain('reached libvirt');
  });
});

describe('snapshot revert while another operation holds the VM', () => {
  it('says the VM is busy and to try again, and leaves it as it was', async () => {
    await defineWeb('', true);
    fake.answer('DOMAIN_SNAPSHOT_LOOKUP_BY_NAME', (a: { dom: unknown; name: string }) => ({
      snap: { name: a.name, dom: a.dom },
    }));
    fake.before = (name) => {
      if (name === 'DOMAIN_REVERT_TO_SNAPSHOT') {
        throw new FakeLibvirtError(
          OPERATION_TIMEOUT,
          'Timeout while waiting for the lock: cannot acquire state change lock (held by monitor=remoteDispatchDomainSnapshotCreateXML)',
        );
      }
    };
    const err = await revertVmSnapshot(ctx, 'web', 's1').catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'VM_BUSY',
      message: expect.stringMatching(/^VM 'web' is busy with another operation \(.*state change lock/),
      hint: 'wait for it to finish and try again',
    });
    expect(fake.domains.get('web')!.active).toBe(true);
  });

  it('another error is passed on as it is', async () => {
    await defineWeb('', false);
    fake.answer('DOMAIN_SNAPSHOT_LOOKUP_BY_NAME', (a: { dom: unknown; name: string }) => ({
      snap: { name: a.name, dom: a.dom },
    }));
    fake.before = (name) => {
      if (name === 'DOMAIN_REVERT_TO_SNAPSHOT') throw new FakeLibvirtError(1, 'disk went away');
    };
    const err = await revertVmSnapshot(ctx, 'web', 's1').catch((e: unknown) => e);
    expect((err as Error).message).toContain('disk went away');
    expect(err).not.toMatchObject({ code: 'VM_BUSY' });
  });
});
