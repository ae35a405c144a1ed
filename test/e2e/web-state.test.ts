// The console's Snapshots & clone view in real Chromium against the real session daemon, the server run as the
// unprivileged test user, on a tiny guest made by the CLI (defined, not booted: a snapshot of a shut-off VM
// holds its disk). From the page: take two snapshots and see them listed, revert to the first (asked first),
// delete the second (asked first), clone the VM and see the new row, and turn start-at-login on and off — each
// checked with the CLI in another process, which reads libvirt and the unit files itself.
// The screenshot in docs/web.md (docs/img/web-snapshots.png) is written here.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AutostartList, SnapshotList, VmInfo, VmSummary } from '../../src/shared/api-types.js';
import {
  createScope,
  domainNames,
  harness,
  roost,
  roostJson,
  tinyCreateArgs,
  tinyGuest,
} from '../harness/index.js';
import { launchChromium } from './browser.js';
import {
  AutostartList as AutostartListShape,
  SnapshotList as SnapshotListShape,
} from '../../src/shared/testing.js';
import { apiRequest, startWeb, type RunningWeb } from './web-server.js';

const { user, uri } = harness();
const scope = createScope('webstate', user, uri);
const guest = tinyGuest(user);
const IMG = join(import.meta.dirname, '..', '..', 'docs', 'img');
const name = scope.name('vm');
const copy = scope.name('copy');

let web: RunningWeb;
let browser: Browser;
let page: Page;

const row = (vm: string, state?: string) =>
  page.locator(`tr[data-vm="${vm}"]${state ? `[data-state="${state}"]` : ''}`);
const snapRow = (snap: string) => page.locator(`[data-snapshot="${snap}"]`);
const snapshotsOf = (vm: string) => roostJson<SnapshotList>(user, ['snapshot', 'ls', vm]);
const api = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  apiRequest(web, method, path, headers, body);
const startsAtLogin = async () => (await roostJson<AutostartList>(user, ['autostart', 'ls'])).vms;

beforeAll(async () => {
  mkdirSync(IMG, { recursive: true });
  const r = await roost(user, ['create', name, ...tinyCreateArgs(guest), '--disk', '64M', '--no-start']);
  expect(r.code, r.stderr).toBe(0);
  web = await startWeb(user);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(web.url);
  await page.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
  await row(name, 'shutoff').waitFor({ timeout: 15_000 });
  await row(name).getByRole('button', { name }).click();
  await page.getByRole('tab', { name: 'Snapshots & clone' }).click();
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await web?.stop();
  // A unit left by a failed test would start the VM at the test user's next login.
  await roost(user, ['autostart', 'off', name]);
  await scope.cleanup();
});

describe('snapshots, clone and autostart in the console', () => {
  it('takes snapshots from the page, named and described, and lists them', async () => {
    const form = page.getByRole('form', { name: `Take a snapshot of ${name}` });
    await form.getByLabel('Snapshot name').fill('s1');
    await form.getByLabel('Description').fill('before the change');
    await form.getByRole('button', { name: 'Take snapshot' }).click();
    await Promise.race([
      snapRow('s1').waitFor({ timeout: 60_000 }),
      // A refusal would show here: fail with its words rather than a timeout.
      page
        .locator('.snapshots [role="alert"]')
        .waitFor({ timeout: 60_000 })
        .then(async () => expect.fail(await page.locator('.snapshots [role="alert"]').innerText())),
    ]);
    await form.getByLabel('Snapshot name').fill('s2');
    await form.getByRole('button', { name: 'Take snapshot' }).click();
    await page.locator('[data-snapshot="s2"][data-current="true"]').waitFor({ timeout: 60_000 });
    expect(await snapRow('s1').innerText()).toContain('before the change');

    const listed = await snapshotsOf(name);
    // By name: two snapshots taken within one second have the same creation time, and libvirt's order is then open.
    const byName = [...listed.snapshots].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName.map((s) => [s.name, s.description])).toEqual([
      ['s1', 'before the change'],
      ['s2', null],
    ]);
    expect(listed.current).toBe('s2');
    // roost info counts them and names the current one.
    expect((await roostJson<VmInfo>(user, ['info', name])).snapshots).toEqual({ count: 2, current: 's2' });
    await page.screenshot({ path: join(IMG, 'web-snapshots.png') });
  });

  it('reverts to a snapshot only after the confirmation, with the keyboard', async () => {
    await snapRow('s1').getByRole('button', { name: 'Revert to s1' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // Escape cancels: nothing changes.
    await page.keyboard.press('Escape');
    await page.waitForTimeout(300);
    expect((await snapshotsOf(name)).current).toBe('s2');
    await snapRow('s1').getByRole('button', { name: 'Revert to s1' }).click();
    await dialog.getByRole('button', { name: 'Revert' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-snapshot="s1"][data-current="true"]').waitFor({ timeout: 60_000 });
    expect((await snapshotsOf(name)).current).toBe('s1');
  });

  it('deletes a snapshot after the confirmation', async () => {
    await snapRow('s2').getByRole('button', { name: 'Delete snapshot s2' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await snapRow('s2').waitFor({ state: 'detached', timeout: 60_000 });
    expect((await snapshotsOf(name)).snapshots.map((s) => s.name)).toEqual(['s1']);
  });

  it('refuses a snapshot name in use, through the shared error text', async () => {
    const form = page.getByRole('form', { name: `Take a snapshot of ${name}` });
    await form.getByLabel('Snapshot name').fill('s1');
    await form.getByRole('button', { name: 'Take snapshot' }).click();
    const alert = page.locator('.snapshots [role="alert"][data-error-code="SNAPSHOT_EXISTS"]');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toMatch(/already has a snapshot 's1'[\s\S]*Fix: /);
    await form.getByLabel('Snapshot name').fill('');
  });

  it('clones the VM (linked) from the dialog, and the new row appears', async () => {
    // A linked clone needs a source without snapshots (its disk becomes the shared base): drop the ones made above.
    for (const s of (await snapshotsOf(name)).snapshots) {
      expect((await roost(user, ['snapshot', 'rm', name, s.name])).code).toBe(0);
    }
    await page.getByRole('button', { name: 'Clone…' }).click();
    const dialog = page.getByRole('dialog', { name: `Clone ${name}` });
    await dialog.getByLabel('Name of the new VM').fill(copy);
    await dialog.getByLabel(/Linked/).check();
    await dialog.getByRole('button', { name: 'Clone', exact: true }).click();
    await row(copy, 'shutoff').waitFor({ timeout: 60_000 });
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.locator('.clone [role="status"]').innerText()).toContain(
      `${copy} is a linked clone of ${name}`,
    );
    expect(await domainNames(uri)).toContain(copy);
    const info = await roostJson<VmInfo>(user, ['info', copy]);
    expect(info.disks.find((d) => d.device === 'disk')?.path).toMatch(new RegExp(`/${copy}\\.qcow2$`));
  });

  it('turns start-at-login on and off, as roost autostart ls and roost ls see it', async () => {
    const box = page.getByRole('checkbox', { name: 'Start when I log in' });
    expect(await box.isChecked()).toBe(false);
    await box.check();
    await page.locator('.autostart [role="status"]').filter({ hasText: 'starts when you log in' }).waitFor();
    expect(await startsAtLogin()).toContain(name);
    const listed = await roostJson<VmSummary[]>(user, ['ls']);
    expect(listed.find((v) => v.name === name)?.autostart).toBe(true);
    expect(listed.find((v) => v.name === copy)?.autostart).toBe(false);

    await box.uncheck();
    await page.locator('.autostart [role="status"]').filter({ hasText: 'no longer starts' }).waitFor();
    expect(await startsAtLogin()).not.toContain(name);
    expect(await page.locator('.autostart [role="alert"], .clone [role="alert"]').count()).toBe(0);
    expect(web.stderr()).not.toMatch(/error/i);
  });

  it('answers the API as the CLI prints, in the shared shapes', async () => {
    const [overApi, overCli] = await Promise.all([
      api('GET', `/api/vms/${name}/snapshots`),
      snapshotsOf(name),
    ]);
    expect(overApi.status).toBe(200);
    expect(SnapshotListShape.parse(JSON.parse(overApi.body))).toEqual(SnapshotListShape.parse(overCli));
    const list = await api('GET', '/api/autostart');
    expect(AutostartListShape.parse(JSON.parse(list.body))).toEqual(
      await roostJson<AutostartList>(user, ['autostart', 'ls']),
    );
  });

  it('holds its routes to the Origin and credential rules of every /api/ route', async () => {
    const snapshotsBefore = (await snapshotsOf(name)).snapshots.map((s) => s.name);
    const foreign = await api('PUT', `/api/vms/${name}/autostart`, { origin: 'https://evil.example' }, {});
    expect(foreign.status).toBe(403);
    const noToken = await api('POST', `/api/vms/${name}/snapshots`, { authorization: '' }, { name: 'x' });
    expect(noToken.status).toBe(401);
    const badName = await api('DELETE', `/api/vms/${name}/snapshots/..%2Fs1`);
    expect(badName.status).toBe(400);
    // None of them did anything.
    expect(await startsAtLogin()).not.toContain(name);
    expect((await snapshotsOf(name)).snapshots.map((s) => s.name)).toEqual(snapshotsBefore);
  });
});
