// `roost web`'s "All hosts" view in Chromium: this server's connection, a remote host (a second user behind a
// private sshd on 127.0.0.1, test/harness/remote-host.ts) and a host of the list that is down, all from the
// user's own hosts.yaml. The down host is one row saying why; the others' VMs still show, and so does the
// Machines list. The view is live: a VM defined, started, stopped or removed on the remote host (by virsh, on
// that user's own daemon) changes its row without a reload, and leaving the view closes the server's ssh
// connections to the host. Root only (it starts sshd and a second user's daemon).
import { chownSync, copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyDomainXml } from '../../scripts/lib/tiny-domain-xml.js';
import { connect } from '../../src/index.js';
import {
  createScope,
  harness,
  processesOf,
  roost,
  tinyCreateArgs,
  tinyGuest,
  virsh,
  waitUntil,
} from '../harness/index.js';
import { freePort } from '../harness/net.js';
import { startRemoteHost, type RemoteHost } from '../harness/remote-host.js';
import { launchChromium } from './browser.js';
import { http, startWeb, ticketFor, type RunningWeb } from './web-server.js';

const IS_ROOT = process.getuid?.() === 0;
const { user, uri } = harness();
const scope = createScope('webhosts', user, uri);
const guest = tinyGuest(user);
const here = scope.name('here');
const there = scope.name('there');
const hostsFile = join(user.home, '.config', 'roost', 'hosts.yaml');

/** The tiny guest's domain XML under `name` for the remote user, whose QEMU boots its own copy of the kernel. */
const tinyXml = (name: string, boot: { kernel: string; initrd: string }) =>
  tinyDomainXml({ name, kernel: boot.kernel, initrd: boot.initrd, cmdline: guest.cmdline, forwards: [] });

/**
 * The kernel and initrd copied into the remote user's home, owned by that user: the test user's fixture cache
 * is private to the test user (as a real host's files are to another), so QEMU over there could not open it.
 */
function copyBootFilesTo(remote: RemoteHost): { dir: string; kernel: string; initrd: string } {
  const dir = join(remote.user.home, scope.name('boot'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.img');
  copyFileSync(guest.kernel, kernel);
  copyFileSync(guest.initrd, initrd);
  for (const p of [dir, kernel, initrd]) chownSync(p, remote.user.uid, remote.user.gid);
  return { dir, kernel, initrd };
}

describe.skipIf(!IS_ROOT)('roost web: every host of the list', () => {
  let host: RemoteHost;
  let web: RunningWeb;
  let browser: Browser;
  let page: Page;
  let boot: { dir: string; kernel: string; initrd: string } | undefined;
  const bootFiles = () => {
    if (!boot) throw new Error('beforeAll did not copy the boot files');
    return boot;
  };

  beforeAll(async () => {
    host = await startRemoteHost(user, scope);
    boot = copyBootFilesTo(host);
    // A VM over there, defined straight on the remote user's daemon (listing it is what this test is about).
    const remote = await connect(host.daemonUri);
    try {
      await remote.defineDomain(tinyXml(there, boot));
    } finally {
      await remote.close();
    }
    const made = await roost(user, ['create', here, ...tinyCreateArgs(guest), '--no-start']);
    expect(made.code, made.stderr).toBe(0);
    const dead = await freePort(); // nothing listens there
    const downUri = `qemu+ssh://${host.user.name}@127.0.0.1:${dead}/session?keyfile=${encodeURIComponent(host.key)}`;
    for (const [name, u] of [
      ['lab', host.uri],
      ['down', downUri],
    ] as const) {
      const r = await roost(user, ['hosts', 'add', name, u]);
      expect(r.code, r.stderr).toBe(0);
    }
    web = await startWeb(user);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await web?.stop();
    rmSync(hostsFile, { force: true });
    await scope.cleanup().catch(() => undefined);
    await host?.stop(scope);
    if (boot) rmSync(boot.dir, { recursive: true, force: true });
  }, 120_000);

  it('shows each host with its VMs, and a host that is down as such, without failing the rest', async () => {
    await page.goto(web.url);
    await page.locator(`tr[data-vm="${here}"]`).waitFor({ timeout: 15_000 });
    await page.getByRole('tab', { name: 'All hosts' }).click();
    const view = page.locator('#view-hosts');
    await view.locator(`tr[data-host="lab"][data-vm="${there}"]`).waitFor({ timeout: 60_000 });
    expect(await view.locator(`tr[data-host="local"][data-vm="${here}"]`).count()).toBe(1);
    const down = view.locator('tr[data-host="down"][data-host-down="true"]');
    expect(await down.count()).toBe(1);
    expect(await down.innerText()).toMatch(/down\s+\S/);
    // Rows in the list's order: this server's first, then hosts.yaml's.
    const order = await view
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host')));
    expect([...new Set(order)]).toEqual(['local', 'lab', 'down']);
    // This server's rows are live: a VM the CLI makes now shows up without asking again.
    const later = scope.name('later');
    const made = await roost(user, ['create', later, ...tinyCreateArgs(guest), '--no-start']);
    expect(made.code, made.stderr).toBe(0);
    await view.locator(`tr[data-host="local"][data-vm="${later}"]`).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(import.meta.dirname, '..', '..', 'docs', 'img', 'web-hosts.png') });
    // The down host did not take the Machines list with it.
    await page.getByRole('tab', { name: 'Machines' }).click();
    expect(await page.locator(`#view-vms tr[data-vm="${here}"]`).count()).toBe(1);
  }, 120_000);

  it('follows the remote host live: what virsh does there shows without a reload, and leaving closes the connections', async () => {
    const sshHelpers = () => processesOf(host.user.uid, /^virt-ssh-helper/).length;
    await page.getByRole('tab', { name: 'All hosts' }).click();
    const view = page.locator('#view-hosts');
    await view.locator('[data-hosts-link="live"]').waitFor({ timeout: 60_000 });
    await view.locator(`tr[data-host="lab"][data-vm="${there}"][data-state="shutoff"]`).waitFor();
    // A reload would lose this mark; the view never asks again either (there is nothing to press).
    await page.evaluate(() => ((globalThis as unknown as { roostMark: number }).roostMark = 1));
    expect(await view.getByRole('button', { name: 'Ask again' }).count()).toBe(0);
    expect(sshHelpers()).toBeGreaterThan(0);

    const row = (name: string, state?: string) =>
      view.locator(`tr[data-host="lab"][data-vm="${name}"]${state ? `[data-state="${state}"]` : ''}`);
    await virsh(host.daemonUri, ['start', there]);
    await row(there, 'running').waitFor({ timeout: 30_000 });
    await virsh(host.daemonUri, ['destroy', there]);
    await row(there, 'shutoff').waitFor({ timeout: 30_000 });
    const fresh = scope.name('fresh');
    const remote = await connect(host.daemonUri);
    try {
      await remote.defineDomain(tinyXml(fresh, bootFiles()));
    } finally {
      await remote.close();
    }
    await row(fresh, 'shutoff').waitFor({ timeout: 30_000 });
    await virsh(host.daemonUri, ['undefine', fresh]);
    await row(fresh).waitFor({ state: 'detached', timeout: 30_000 });
    expect(await row(there).count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as unknown as { roostMark?: number }).roostMark)).toBe(1);

    // Nobody watches every host any more: the server closes its connections to them.
    await page.getByRole('tab', { name: 'Machines' }).click();
    expect(await waitUntil(() => sshHelpers() === 0, 30_000)).toBe(true);
  }, 180_000);

  it('opens the live host stream only with its own ticket', async () => {
    const get = (path: string) =>
      http(web, { path, headers: { host: `127.0.0.1:${web.port}` } }).then((r) => r.status);
    expect(await get('/api/hosts/events')).toBe(401);
    const other = await ticketFor(web, web.token, '/api/events');
    expect(await get(`/api/hosts/events?ticket=${other}`)).toBe(401);
    const own = await ticketFor(web, web.token, '/api/hosts/events');
    const foreign = await http(web, {
      path: `/api/hosts/events?ticket=${own}`,
      headers: { host: `127.0.0.1:${web.port}`, origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
  }, 60_000);

  it('answers the host list only to the logged-in, and takes no host or URI from the request', async () => {
    const get = (path: string, auth: string) =>
      http(web, { path, headers: { host: `127.0.0.1:${web.port}`, authorization: auth } });
    expect((await get('/api/hosts', '')).status).toBe(401);
    const r = await get(
      `/api/hosts?uri=${encodeURIComponent('qemu:///system')}&host=evil`,
      `Bearer ${web.token}`,
    );
    expect(r.status).toBe(200);
    const rows = JSON.parse(r.body) as { host: string; uri: string }[];
    expect(rows.map((x) => x.host)).toEqual(['local', 'lab', 'down']);
    expect(rows.some((x) => x.uri.includes('system'))).toBe(false);
  }, 60_000);
});
