// roost's pure-TS libvirt client against the real session daemon of the unprivileged test user, with no guest
// running: the handshake and connection facts, domain listing checked against two independent witnesses
// (virsh and python3-libvirt, i.e. libvirt's own C client), errors as the daemon reports them, and a storage
// volume round trip through the upload and download streams.
import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyDomainXml } from '../../scripts/lib/tiny-domain-xml.js';
import {
  ConnectionClosedError,
  LibvirtError,
  VirErrorCode,
  connect,
  isNotFound,
  type LibvirtClient,
} from '../../src/index.js';
import {
  createScope,
  domainNames,
  harness,
  run,
  tinyGuest,
  virsh,
  volumeNames,
  waitUntil,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('lvclient', user, uri);
let client: LibvirtClient;

beforeAll(async () => {
  client = await connect(uri);
});
afterAll(async () => {
  await client?.close();
  await scope.cleanup();
});

/** Domain names as python3-libvirt (libvirt's C client) lists them. /usr/bin/python3 has the module. */
async function pythonDomainNames(): Promise<string[]> {
  const script = [
    'import json, sys, libvirt',
    'c = libvirt.open(sys.argv[1])',
    'print(json.dumps([d.name() for d in c.listAllDomains(0)]))',
    'c.close()',
  ].join('\n');
  const r = await run('/usr/bin/python3', ['-c', script, uri], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as string[];
}

const sorted = (names: string[]) => [...names].sort();

describe('connection', () => {
  it('opens, reports sane facts, and closes', async () => {
    const c = await connect(uri);
    expect(c.closed).toBe(false);
    expect(await c.uri()).toBe('qemu:///session');
    // QEMU's version as the QEMU driver reports it, e.g. 10000002 for 10.0.2; the daemon's own is libvirt's.
    const qemu = /version (\d+)\.(\d+)\.(\d+)/.exec((await run('qemu-system-x86_64', ['--version'])).stdout)!;
    const [qMajor, qMinor, qMicro] = qemu.slice(1).map(Number) as [number, number, number];
    expect(await c.version()).toBe(BigInt(qMajor * 1_000_000 + qMinor * 1_000 + qMicro));
    const libvirtd = /(\d+)\.(\d+)\.(\d+)/.exec((await run('/usr/sbin/libvirtd', ['--version'])).stdout)!;
    const [lMajor, lMinor, lMicro] = libvirtd.slice(1).map(Number) as [number, number, number];
    expect(await c.libVersion()).toBe(BigInt(lMajor * 1_000_000 + lMinor * 1_000 + lMicro));
    expect(await c.hostname()).toBe(osHostname());

    await c.close();
    expect(c.closed).toBe(true);
    await expect(c.hostname()).rejects.toBeInstanceOf(ConnectionClosedError);
    await c.close(); // a second close is a no-op
  });
});

describe('domains', () => {
  it('lists the same domains as virsh and python3-libvirt', async () => {
    const guest = tinyGuest(user);
    const names = ['a', 'b', 'c'].map((s) => scope.name(s));
    for (const name of names) {
      await client.defineDomain(
        tinyDomainXml({
          name,
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: guest.cmdline,
          forwards: [],
        }),
      );
    }
    const ours = (await client.listDomains()).map((d) => d.name);
    const mine = (list: string[]) => sorted(list.filter((n) => n.startsWith(scope.prefix)));
    expect(mine(ours)).toEqual(sorted(names));
    expect(mine(await domainNames(uri))).toEqual(sorted(names));
    expect(mine(await pythonDomainNames())).toEqual(sorted(names));

    // The whole list, not only ours. Other test runs may share this daemon and (un)define domains while we
    // look, so a mismatch is only a failure when it persists across a few snapshots.
    let snapshot: { roost: string[]; virsh: string[]; python: string[] } | undefined;
    const agree = await waitUntil(
      async () => {
        snapshot = {
          roost: sorted((await client.listDomains()).map((d) => d.name)),
          virsh: sorted(await domainNames(uri)),
          python: sorted(await pythonDomainNames()),
        };
        return (
          JSON.stringify(snapshot.roost) === JSON.stringify(snapshot.virsh) &&
          JSON.stringify(snapshot.roost) === JSON.stringify(snapshot.python)
        );
      },
      10_000,
      200,
    );
    expect(agree, JSON.stringify(snapshot)).toBe(true);

    for (const name of names) await client.undefineDomain(await client.lookupDomain(name));
    expect(mine((await client.listDomains()).map((d) => d.name))).toEqual([]);
    expect(mine(await domainNames(uri))).toEqual([]);
  });

  it('reports an unknown domain as a LibvirtError that isNotFound(), with the daemon’s message', async () => {
    const name = scope.name('no-such-domain');
    const err: unknown = await client.lookupDomain(name).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LibvirtError);
    const lerr = err as LibvirtError;
    expect(lerr.isNotFound()).toBe(true);
    expect(isNotFound(lerr)).toBe(true);
    expect(lerr.virErrorCode).toBe(VirErrorCode.NO_DOMAIN);
    expect(lerr.level).toBe(2); // error
    // The message is the daemon's own, word for word: libvirt's C client reports the same code and text
    // for the same lookup.
    const script = [
      'import json, sys, libvirt',
      'libvirt.registerErrorHandler(lambda *_: None, None)',
      'c = libvirt.open(sys.argv[1])',
      'try:',
      '    c.lookupByName(sys.argv[2])',
      'except libvirt.libvirtError as e:',
      '    print(json.dumps({"code": e.get_error_code(), "message": e.get_error_message()}))',
      'c.close()',
    ].join('\n');
    const witness = await run('/usr/bin/python3', ['-c', script, uri, name], { timeoutMs: 30_000 });
    expect(JSON.parse(witness.stdout)).toEqual({ code: lerr.virErrorCode, message: lerr.message });
    // The connection is fine after an error reply.
    expect(await client.uri()).toBe('qemu:///session');
  });
});

describe('storage', () => {
  it('uploads 3 MiB into a new volume and downloads the same bytes back', async () => {
    const poolName = scope.name('pool');
    const poolDir = join(scope.dir, 'pool');
    // A transient directory pool: the daemon (running as the test user) creates its directory, inside the
    // scope directory that the test user owns.
    const pool = await client.createStoragePoolXml(
      `<pool type='dir'><name>${poolName}</name><target><path>${poolDir}</path></target></pool>`,
      1, // VIR_STORAGE_POOL_CREATE_WITH_BUILD
    );
    expect(await client.isStoragePoolActive(pool)).toBe(true);

    const size = 3 * 1024 * 1024;
    const volName = scope.name('vol.raw');
    const vol = await client.createVolume(
      pool,
      `<volume><name>${volName}</name><capacity unit='bytes'>${size}</capacity>` +
        `<target><format type='raw'/></target></volume>`,
    );
    expect(await client.getVolumePath(vol)).toBe(join(poolDir, volName));
    expect(await volumeNames(uri, poolName)).toEqual([volName]);

    const data = randomBytes(size);
    await client.uploadVolume(vol, data);
    const chunks: Buffer[] = [];
    for await (const chunk of await client.downloadVolume(vol)) chunks.push(chunk as Buffer);
    const back = Buffer.concat(chunks);
    expect(back.length).toBe(size);
    expect(back.equals(data)).toBe(true);
    // The connection still answers calls after two streams on it.
    expect((await client.getVolumeInfo(vol)).capacity).toBe(BigInt(size));

    await client.deleteVolume(vol);
    expect(await volumeNames(uri, poolName)).toEqual([]);
    await client.destroyStoragePool(pool);
    const poolGone = await client.lookupStoragePool(poolName).then(
      () => false,
      (e: unknown) => isNotFound(e),
    );
    expect(poolGone).toBe(true);
    expect((await virsh(uri, ['pool-list', '--all', '--name'])).stdout).not.toContain(poolName);
  });
});
