// roost clone and roost edit --disk against the real session daemon and QEMU (tiny guest, TCG). A clone of a
// shut-off VM runs beside its source, each answering on its own host port; --linked makes an overlay whose
// file is small whatever the base (O(1)), and the source cannot be removed under it; removing a clone leaves
// the source intact. Bad inputs change nothing. A shut-off VM's disk grows (virsh vol-info agrees), a smaller
// size is refused with the current size.
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

  it('--linked is an overlay on the source disk (O(1)); rm of the source is refused while it exists', async () => {
    const linked = scope.name('linked');
    const port = await freePort();
    const r = await roostJson<CloneJson>(user, [
      'clone',
      '--linked',
      src,
      linked,
      '--port',
      `127.0.0.1:${port}:80`,
    ]);
    expect(r.linked).toBe(true);
    expect(r.ports.join(' ')).toContain(`:${port}:80`);
    expect(r.chosenPorts).toEqual([]);
    const info = await runAs(user, 'qemu-img', ['info', '--output=json', '-U', r.disks[0]!], { check: true });
    const facts = JSON.parse(info.stdout) as { 'backing-filename'?: string; 'actual-size': number };
    expect(facts['backing-filename']).toMatch(new RegExp(`/${src}\\.qcow2$`));
    expect(facts['actual-size']).toBeLessThan(1024 * 1024);

    const rmSrc = await roost(user, ['rm', src]);
    expect(rmSrc.code, text(rmSrc)).toBe(2);
    expect(rmSrc.stderr).toContain(linked);
    expect(await domainNames(uri)).toContain(src);

    await ok(['start', linked]);
    expect(await tinyPageAnswers(port, 180_000)).toBe(true);
    await ok(['rm', '--force', linked]);
  }, 300_000);

  it('removing a clone leaves the source intact', async () => {
    await ok(['rm', full]);
    expect(await domainNames(uri)).not.toContain(full);
    expect(await volumeNames(uri, 'roost')).toContain(`${src}.qcow2`);
    await ok(['start', src]);
    expect(await tinyPageAnswers(srcPort, 180_000)).toBe(true);
    await ok(['stop', '--force', src]);
  }, 240_000);
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
