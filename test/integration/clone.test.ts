// roost clone and roost edit --disk against the real session daemon and QEMU (tiny guest, TCG). A clone of a
// shut-off VM runs beside its source, each answering on its own host port; removing a clone leaves the source
// intact. --linked turns the source's disk into a read-only shared base with a small overlay for each VM (O(1)):
// what one writes the other never reads, either can be removed, and the last one takes the base with it. Bad
// inputs change nothing. A shut-off VM's disk grows (virsh vol-info agrees), a smaller size is refused with the
// current size.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  domainNames,
  freePort,
  harness,
  roost,
  roostJson,
  runAs,
  tinyCreateArgs,
  tinyGuest,
  tinyPageAnswers,
  virsh,
  volumeNames,
  type RunResult,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('clone', user, uri);
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

interface CloneJson {
  name: string;
  source: string;
  linked: boolean;
  state: string;
  disks: string[];
  ports: string[];
  chosenPorts: string[];
}

async function ok(args: string[]): Promise<RunResult> {
  const r = await roost(user, args);
  expect(r.code, `roost ${args.join(' ')}\n${text(r)}`).toBe(0);
  return r;
}

/** The host port of a forward as printed ("127.0.0.1:8080:80/tcp" and the like) to guest port 80. */
function hostPortOf(forwards: string[]): number {
  const f = forwards.find((p) => /:80(\/tcp)?$/.test(p));
  expect(f, forwards.join(', ')).toBeDefined();
  return Number(/(\d+):80(\/tcp)?$/.exec(f!)![1]);
}

async function capacity(vol: string): Promise<number> {
  const r = await virsh(uri, ['vol-info', '--bytes', '--pool', 'roost', vol]);
  return Number(/Capacity:\s+(\d+)/.exec(r.stdout)![1]);
}

interface ImageInfo {
  'backing-filename'?: string;
  'actual-size': number;
}

async function imageInfo(disk: string): Promise<ImageInfo> {
  const r = await runAs(user, 'qemu-img', ['info', '--output=json', '-U', disk], { check: true });
  return JSON.parse(r.stdout) as ImageInfo;
}

/** qemu-io on a shut-off VM's disk, as the user: `write -P N` puts a marker, `read -P N` checks the bytes. */
async function qemuIo(disk: string, command: string): Promise<void> {
  const r = await runAs(user, 'qemu-io', ['-f', 'qcow2', '-c', command, disk], { check: false });
  const what = `qemu-io -c '${command}' ${disk}\n${text(r)}`;
  expect(r.code, what).toBe(0);
  expect(r.stdout + r.stderr, what).not.toMatch(/Pattern verification failed/);
}

const src = scope.name('src');
let srcPort: number;

afterAll(() => scope.cleanup());

beforeAll(async () => {
  srcPort = await freePort();
  await ok([
    'create',
    src,
    ...tinyCreateArgs(tinyGuest(user)),
    '--disk',
    '16M',
    '--port',
    `127.0.0.1:${srcPort}:80`,
    '--wait',
    'none',
  ]);
  expect(await tinyPageAnswers(srcPort, 180_000)).toBe(true);
}, 300_000);

describe('roost clone', () => {
  it('refuses bad inputs with exit 2 and makes nothing', async () => {
    const domains = await domainNames(uri);
    const volumes = await volumeNames(uri, 'roost');
    const dst = scope.name('bad');
    const running = await roost(user, ['clone', src, dst]);
    expect(running.code, text(running)).toBe(2);
    expect(running.stderr).toContain('is running');
    expect(running.stderr).toContain('--stop');
    const badName = await roost(user, ['clone', src, '../x']);
    expect(badName.code, text(badName)).toBe(2);
    expect(badName.stderr).toMatch(/invalid VM name/);
    const same = await roost(user, ['clone', src, src]);
    expect(same.code, text(same)).toBe(2);
    const noSource = await roost(user, ['clone', scope.name('none'), dst]);
    expect(noSource.code, text(noSource)).not.toBe(0);
    expect(noSource.stderr).toContain('no VM named');
    expect(await domainNames(uri)).toEqual(domains);
    expect(await volumeNames(uri, 'roost')).toEqual(volumes);
  });

  const full = scope.name('full');
  it('--stop shuts the source down; the full copy and the source run side by side on their own ports', async () => {
    const r = await roostJson<CloneJson>(user, ['clone', '--stop', src, full]);
    expect(r).toMatchObject({ name: full, source: src, linked: false, state: 'shutoff' });
    const port = hostPortOf(r.chosenPorts);
    expect(port).not.toBe(srcPort);
    const info = await runAs(user, 'qemu-img', ['info', '--output=json', '-U', r.disks[0]!], { check: true });
    expect(JSON.parse(info.stdout)['backing-filename']).toBeUndefined(); // a copy of its own
    // A new identity: UUID and MAC differ from the source's.
    const [a, b] = await Promise.all([virsh(uri, ['dumpxml', src]), virsh(uri, ['dumpxml', full])]);
    const uuid = (x: string) => /<uuid>([^<]+)</.exec(x)![1];
    const mac = (x: string) => /<mac address='([^']+)'/.exec(x)![1];
    expect(uuid(b.stdout)).not.toBe(uuid(a.stdout));
    expect(mac(b.stdout)).not.toBe(mac(a.stdout));

    await ok(['start', src]);
    await ok(['start', full]);
    expect(await tinyPageAnswers(srcPort, 180_000)).toBe(true);
    expect(await tinyPageAnswers(port, 180_000)).toBe(true);
    await ok(['stop', '--force', src]);
    await ok(['stop', '--force', full]);

    const dup = await roost(user, ['clone', src, full]);
    expect(dup.code, text(dup)).toBe(2);
    expect(dup.stderr).toContain('already exists');
  }, 420_000);

  it('removing a clone leaves the source intact', async () => {
    await ok(['rm', full]);
    expect(await domainNames(uri)).not.toContain(full);
    expect(await volumeNames(uri, 'roost')).toContain(`${src}.qcow2`);
    await ok(['start', src]);
    expect(await tinyPageAnswers(srcPort, 180_000)).toBe(true);
    await ok(['stop', '--force', src]);
  }, 240_000);
});

describe('roost clone --linked', () => {
  const lsrc = scope.name('lsrc');
  const lcl = scope.name('lcl');
  let srcPort: number;
  let clonePort: number;
  let base: string;
  const diskOf = async (vm: string) =>
    (await virsh(uri, ['vol-path', '--pool', 'roost', `${vm}.qcow2`])).stdout.trim();

  it('source and clone each write an overlay of their own on a read-only shared base', async () => {
    srcPort = await freePort();
    clonePort = await freePort();
    await ok([
      'create',
      lsrc,
      ...tinyCreateArgs(tinyGuest(user)),
      '--disk',
      '16M',
      '--port',
      `127.0.0.1:${srcPort}:80`,
      '--no-start',
    ]);
    const r = await roostJson<CloneJson>(user, [
      'clone',
      '--linked',
      lsrc,
      lcl,
      '--port',
      `127.0.0.1:${clonePort}:80`,
    ]);
    expect(r.linked).toBe(true);
    expect(r.ports.join(' ')).toContain(`:${clonePort}:80`);
    expect(r.chosenPorts).toEqual([]);
    const [srcInfo, cloneInfo] = await Promise.all([imageInfo(await diskOf(lsrc)), imageInfo(r.disks[0]!)]);
    // Both are small overlays of one base, which nothing writes: the source's old disk, renamed, mode 0400.
    base = srcInfo['backing-filename']!;
    expect(base).toMatch(new RegExp(`/${lsrc}\\.base-[0-9a-f]{8}\\.qcow2$`));
    expect(cloneInfo['backing-filename']).toBe(base);
    expect(cloneInfo['actual-size']).toBeLessThan(1024 * 1024);
    expect(statSync(base).mode & 0o777).toBe(0o400);

    // What each writes (as its guest would), only it reads back; the other still reads the base's zeros.
    await qemuIo(await diskOf(lsrc), 'write -P 0x5a 0 64k');
    await qemuIo(r.disks[0]!, 'write -P 0xa5 1M 64k');
    await expectMarkers();

    await ok(['start', lsrc]);
    await ok(['start', lcl]);
    expect(await tinyPageAnswers(srcPort, 180_000)).toBe(true);
    expect(await tinyPageAnswers(clonePort, 180_000)).toBe(true);
    await ok(['stop', '--force', lsrc]);
    await ok(['stop', '--force', lcl]);
    await expectMarkers();
  }, 420_000);

  it('rm of either leaves the base to the other; rm of the last one removes it', async () => {
    await ok(['rm', lsrc]);
    expect(await volumeNames(uri, 'roost')).toContain(basename(base));
    await ok(['start', lcl]);
    expect(await tinyPageAnswers(clonePort, 180_000)).toBe(true);
    await ok(['stop', '--force', lcl]);
    await qemuIo(await diskOf(lcl), 'read -P 0xa5 1M 64k');

    await ok(['rm', lcl]);
    const left = (await volumeNames(uri, 'roost')).filter((v) => v.includes(lsrc) || v.includes(lcl));
    expect(left).toEqual([]);
  }, 300_000);

  it('refuses a source with snapshots, with nothing changed', async () => {
    const snapped = scope.name('snapped');
    await ok(['create', snapped, ...tinyCreateArgs(tinyGuest(user)), '--disk', '16M', '--no-start']);
    await ok(['snapshot', 'create', snapped, 'one']);
    const volumes = await volumeNames(uri, 'roost');
    const r = await roost(user, ['clone', '--linked', snapped, scope.name('snapped-l')]);
    expect(r.code, text(r)).toBe(2);
    expect(r.stderr).toContain('has snapshots (one)');
    expect(r.stderr).toContain('leave out --linked');
    expect(await volumeNames(uri, 'roost')).toEqual(volumes);
    await ok(['rm', snapped]);
  }, 120_000);

  /** Each VM reads its own marker, and not the other's. */
  async function expectMarkers(): Promise<void> {
    const [srcDisk, cloneDisk] = [await diskOf(lsrc), await diskOf(lcl)];
    await qemuIo(srcDisk, 'read -P 0x5a 0 64k');
    await qemuIo(srcDisk, 'read -P 0 1M 64k');
    await qemuIo(cloneDisk, 'read -P 0xa5 1M 64k');
    await qemuIo(cloneDisk, 'read -P 0 0 64k');
  }
});

describe('roost edit --disk', () => {
  it("grows a shut-off VM's disk and refuses to shrink it", async () => {
    expect(await capacity(`${src}.qcow2`)).toBe(16 * 1024 ** 2);
    const r = await ok(['edit', src, '--disk', '32M']);
    expect(r.stdout).toContain('32 MiB');
    expect(await capacity(`${src}.qcow2`)).toBe(32 * 1024 ** 2);
    const shrink = await roost(user, ['edit', src, '--disk', '8M']);
    expect(shrink.code, text(shrink)).toBe(2);
    expect(shrink.stderr).toContain(`the disk of VM '${src}' is 32 MiB`);
    expect(shrink.stderr).toContain('cannot shrink');
    expect(await capacity(`${src}.qcow2`)).toBe(32 * 1024 ** 2);
  }, 120_000);

  it("grows a running VM's disk through QEMU", async () => {
    await ok(['start', src]);
    await ok(['edit', src, '--disk', '48M']);
    const r = await virsh(uri, ['domblkinfo', src, 'vda', '--human']);
    expect(r.stdout).toMatch(/Capacity:\s+48\.000 MiB/);
    await ok(['stop', '--force', src]);
  }, 240_000);
});
