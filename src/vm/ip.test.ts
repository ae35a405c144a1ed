// roost ip through a fake daemon (libvirt/testing.ts): a passt NIC reports the host endpoints that reach the
// guest, a bridged NIC the address a source answered with (here a dnsmasq lease file, as the daemon's agent and
// ARP sources are not there), and `requireAddresses` says why there is none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LibvirtClient } from '../libvirt/api.js';
import { openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import { roostPaths } from '../paths.js';
import type { VmContext } from './context.js';
import { endpointText, requireAddresses, vmAddresses } from './ip.js';

let dir: string;
let fake: FakeLibvirt;
let client: LibvirtClient;
let ctx: VmContext;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roost-ip-'));
  ({ fake, client } = await openFakeLibvirt());
  const env = { HOME: dir, ROOST_LEASE_FILES: '' };
  ctx = { client, uri: 'qemu:///session', paths: roostPaths(env), env, close: () => client.close() };
});

afterEach(async () => {
  await client.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

const PASST_NIC = `<interface type='user'>
      <mac address='52:54:00:aa:bb:01'/>
      <portForward proto='tcp' address='127.0.0.1'><range start='2222' to='22'/></portForward>
      <backend type='passt'/>
    </interface>`;
const BRIDGE_NIC = `<interface type='bridge'>
      <mac address='52:54:00:aa:bb:02'/>
      <source bridge='br-test'/>
      <model type='virtio'/>
    </interface>`;

function define(name: string, nics: string[], active: boolean, n = 1): void {
  const xml = `<domain type='qemu'><name>${name}</name><uuid>${String(n).repeat(32)}</uuid>
  <memory unit='KiB'>524288</memory><vcpu>1</vcpu><devices>${nics.join('')}</devices></domain>`;
  fake.domains.set(name, { name, uuid: Buffer.alloc(16, n * 0x11), xml, active, persistent: true });
}

const noHost = { hostAddresses: new Set<string>(), arpFile: '/nonexistent/arp', agentTimeoutS: 1 };

describe('vmAddresses', () => {
  it('a passt NIC: no address on the host, the forwarded endpoints instead', async () => {
    define('p', [PASST_NIC], true);
    const r = await vmAddresses(ctx, 'p', noHost);
    expect(r.ip).toBeNull();
    expect(r.state).toBe('running');
    expect(r.nics).toEqual([
      expect.objectContaining({
        mac: '52:54:00:aa:bb:01',
        network: 'user (passt)',
        endpoints: ['127.0.0.1:2222 → 22/tcp'],
      }),
    ]);
  });

  it('a bridged NIC: the address from a dnsmasq lease file, by MAC, and the source named', async () => {
    define('b', [BRIDGE_NIC], true, 2);
    const leases = join(dir, 'br-test.leases');
    writeFileSync(leases, `${Math.floor(Date.now() / 1000) + 3600} 52:54:00:aa:bb:02 10.77.3.15 b *\n`);
    const r = await vmAddresses(ctx, 'b', { ...noHost, leaseFiles: [leases] });
    expect(r.ip).toBe('10.77.3.15');
    expect(r.nics[0]!.addresses[0]).toMatchObject({ ip: '10.77.3.15' });
    expect(r.nics[0]!.tried.some((t) => t.result === 'found')).toBe(true);
  });

  it('a stopped VM is not asked: no address, and requireAddresses says to start it', async () => {
    define('s', [BRIDGE_NIC], false, 3);
    const r = await vmAddresses(ctx, 's', noHost);
    expect(r).toMatchObject({ state: 'shutoff', ip: null });
    const err = (await requireAddresses(ctx, 's', noHost).catch((e: unknown) => e)) as { code: string };
    expect(err.code).toBe('VM_NOT_RUNNING');
  });

  it('a passt NIC that forwards nothing: IP_NOT_FOUND saying nothing on the host reaches it', async () => {
    define('n', [PASST_NIC.replace(/<portForward.*<\/portForward>/, '')], true, 4);
    const err = (await requireAddresses(ctx, 'n', noHost).catch((e: unknown) => e)) as Error & {
      code: string;
    };
    expect(err.code).toBe('IP_NOT_FOUND');
    expect(err.message).toContain('forwards no port');
  });
});

describe('endpointText', () => {
  it('writes IPv6 in brackets and ranges with a dash', () => {
    expect(
      endpointText({ proto: 'udp', address: '::1', hostStart: 8000, hostEnd: 8010, guestStart: 9000 }),
    ).toBe('[::1]:8000-8010 → 9000-9010/udp');
  });
});
