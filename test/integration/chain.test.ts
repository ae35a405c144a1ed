// The whole chain, today: as the unprivileged test user's session daemon, define and start the tiny guest with
// a passt port forward, fetch its page through 127.0.0.1, check that QEMU and passt are that user's processes,
// then destroy and undefine it and check that nothing is left — no domain, no files, no processes.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyDomainXml } from '../../scripts/lib/tiny-domain-xml.js';
import { connect, isNotFound, type LibvirtClient } from '../../src/index.js';
import {
  createScope,
  domainNames,
  freePort,
  harness,
  httpGet,
  liveDaemonPid,
  processesOf,
  tinyGuest,
  uidOf,
  waitUntil,
} from '../harness/index.js';

const DESTROY_REMOVE_LOGS = 2;
const UNDEFINE_NVRAM = 4;

const { user, uri } = harness();
const scope = createScope('chain', user, uri);
let client: LibvirtClient;

beforeAll(async () => {
  client = await connect(uri);
});
afterAll(async () => {
  await client?.close();
  await scope.cleanup();
});

/** Every file under `dir` whose name mentions `needle` (the domain name): libvirt's traces of a domain. */
function filesNamed(dir: string, needle: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (entry.includes(needle)) found.push(p);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue; // vanished or a dangling socket link
    }
    if (st.isDirectory()) found.push(...filesNamed(p, needle));
  }
  return found;
}

describe('tiny guest with a passt port forward, rootless', () => {
  it('runs the session daemon as the test user, not root', () => {
    expect(user.uid).not.toBe(0);
    const daemonPid = liveDaemonPid(user);
    expect(daemonPid).toBeDefined();
    expect(uidOf(daemonPid!)).toBe(user.uid);
  });

  it('boots, serves its page through 127.0.0.1, and leaves nothing behind when removed', async () => {
    const guest = tinyGuest(user);
    const name = scope.name('vm');
    const port = await freePort();
    const serialLog = join(scope.dir, `${name}.serial.log`);
    const xml = tinyDomainXml({
      name,
      kernel: guest.kernel,
      initrd: guest.initrd,
      cmdline: guest.cmdline,
      forwards: [{ proto: 'tcp', address: '127.0.0.1', hostPort: port, guestPort: 80 }],
      serialLog,
    });

    const dom = await client.startDomain(await client.defineDomain(xml));
    expect((await client.getState(dom)).state).toBe(1); // running
    expect(await domainNames(uri)).toContain(name); // virsh agrees

    // Under TCG the guest needs a while to bring up its servers.
    let page = '';
    const answered = await waitUntil(
      async () => {
        page = await httpGet(port)
          .then((r) => (r.status === 200 ? r.body : ''))
          .catch(() => '');
        return page.includes('roost tiny guest OK');
      },
      60_000,
      250,
    );
    expect(answered, `no page on 127.0.0.1:${port}; serial log in ${serialLog}`).toBe(true);

    const qemu = processesOf(user.uid, /^qemu-system/).filter((p) => p.argv.some((a) => a.includes(name)));
    expect(qemu).toHaveLength(1);
    // passt's socket path carries the domain name: count only this VM's (another daemon of the user may run).
    const passtOfVm = () =>
      processesOf(user.uid, /^passt/).filter((p) => p.argv.some((a) => a.includes(name)));
    expect(passtOfVm().length).toBeGreaterThanOrEqual(1);
    // Nothing of this VM runs as root.
    expect(
      processesOf(0, /^(qemu-system|passt)/).filter((p) => p.argv.some((a) => a.includes(name))),
    ).toEqual([]);

    await client.destroyDomain(dom, DESTROY_REMOVE_LOGS);
    await client.undefineDomain(dom, UNDEFINE_NVRAM);
    rmSync(serialLog, { force: true });

    const gone = await client.lookupDomain(name).then(
      () => false,
      (e: unknown) => isNotFound(e),
    );
    expect(gone).toBe(true);
    expect(await domainNames(uri)).not.toContain(name);
    expect(
      await waitUntil(
        () => processesOf(user.uid, /^qemu-system/).every((p) => p.pid !== qemu[0]!.pid),
        10_000,
      ),
    ).toBe(true);
    expect(await waitUntil(() => passtOfVm().length === 0, 10_000)).toBe(true);
    expect([...filesNamed(user.home, name), ...filesNamed(user.runtimeDir, name)]).toEqual([]);
  });
});
