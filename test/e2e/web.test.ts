// The web console in real Chromium against the real session daemon, the server run as the unprivileged test
// user. A person logs in with the printed link, reloads, opens a second tab and gets a new link from
// `roost web link` (web-attack.test.ts tries the same server from a hostile page). One tiny guest, booted once (twice only if an added port needs a restart): it appears in the page when
// the CLI creates it in another process (an event, not a poll), is started, used through the serial and the
// graphical console, gets a port that answers, and is stopped and deleted — all from the page.
// The screenshots in docs/web.md are written here (docs/img/), so they always show the current page.
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  domainNames,
  freePort,
  harness,
  tinyPageAnswers,
  roost,
  roostJson,
  tinyGuest,
  tinyCreateArgs,
  waitUntil,
} from '../harness/index.js';
import { launchChromium } from './browser.js';
import { startWeb, type RunningWeb } from './web-server.js';

const { user, uri } = harness();
const scope = createScope('web', user, uri);
const guest = tinyGuest(user);
const IMG = join(import.meta.dirname, '..', '..', 'docs', 'img');
const name = scope.name('vm');
const share = join(scope.dir, 'share');

let web: RunningWeb;
let browser: Browser;
let page: Page;
let createPort: number;
/** Reads of the VM list: event streams opened with their snapshot. */
const apiListCalls: number[] = [];
/** GET /api/vms: the page never needs it while the stream's snapshot reads. */
const vmsGets: number[] = [];

// Browser-side code as strings: this file is type-checked for Node, without the DOM's types.
/** True when noVNC's canvas shows something: some pixel differs from the first one (text on the VGA console). */
const CANVAS_DRAWN = `(() => {
  const c = document.querySelector('[data-testid="vnc-screen"] canvas');
  if (!c || c.width < 100 || c.height < 100) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
  return false;
})()`;

const row = (state?: string) =>
  page.locator(`tr[data-vm="${name}"]${state ? `[data-state="${state}"]` : ''}`);
const shot = (file: string) => page.screenshot({ path: join(IMG, file) });

beforeAll(async () => {
  mkdirSync(IMG, { recursive: true });
  web = await startWeb(user);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (r.method() !== 'GET') return;
    // The list comes with the event stream's first message; a GET /api/vms would be a second read.
    if (url.pathname === '/api/events' && url.searchParams.get('snapshot') === '1')
      apiListCalls.push(Date.now());
    if (url.pathname === '/api/vms') vmsGets.push(Date.now());
  });
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await web?.stop();
  await scope.cleanup();
});

describe('roost web in Chromium', () => {
  it('logs in with the printed link, whose secret leaves the address bar at once', async () => {
    await page.goto(web.url);
    await page.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
    expect(page.url()).toBe(`${web.origin}/`);
    await expect.poll(() => apiListCalls.length).toBe(1);
    await page.locator('[data-testid="no-vms"], table.vms').first().waitFor();
    expect(vmsGets).toEqual([]);
    // No cookie: the session is in this tab's sessionStorage.
    expect(await page.context().cookies()).toEqual([]);
  });

  it('keeps working after a reload of the tab', async () => {
    await page.reload();
    await page.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => apiListCalls.length).toBe(2);
    apiListCalls.length = 0;
    apiListCalls.push(Date.now()); // the later tests count reads after the first
  });

  it('refuses the same link in another browser: it worked once', async () => {
    const other = await browser.newPage();
    try {
      await other.goto(web.url);
      await other.locator('[data-testid="logged-out"]').waitFor({ timeout: 15_000 });
      expect(await other.locator('[data-testid="logged-out"]').innerText()).toMatch(
        /used already or has expired/,
      );
      expect(other.url()).toBe(`${web.origin}/`);
    } finally {
      await other.context().close();
    }
  });

  it('opens a second tab from the page, logged in on its own', async () => {
    const [tab] = await Promise.all([
      page.context().waitForEvent('page'),
      page.getByRole('button', { name: 'New tab' }).click(),
    ]);
    await tab.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
    expect(tab.url()).toBe(`${web.origin}/`);
    await tab.close();
  });

  it('gets a fresh working link from `roost web link` without a restart', async () => {
    const { url } = await roostJson<{ url: string }>(user, ['web', 'link']);
    expect(url).not.toBe(web.url);
    const other = await browser.newPage();
    try {
      await other.goto(url);
      await other.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
    } finally {
      await other.context().close();
    }
  });

  it('shows a VM the CLI creates in another process, through the event stream', async () => {
    createPort = await freePort();
    mkdirSync(share);
    chownSync(share, user.uid, user.gid);
    const r = await roost(user, [
      'create',
      name,
      ...tinyCreateArgs(guest),
      '--port',
      `127.0.0.1:${createPort}:80`,
      '--mount',
      `${share}:/srv/shared:ro`,
      '--no-start',
    ]);
    expect(r.code, r.stderr).toBe(0);
    await row('shutoff').waitFor({ timeout: 10_000 });
    await expect(row().locator('td.ports').innerText()).resolves.toContain(`127.0.0.1:${createPort}:80/tcp`);
    // No second read of the list: the row came with the 'defined' event.
    expect(apiListCalls.length).toBe(1);
    await shot('web-list.png');
  });

  it('starts it from the page, with the keyboard', async () => {
    const start = row().getByRole('button', { name: 'Start' });
    await start.focus();
    await page.keyboard.press('Enter');
    await row('running').waitFor({ timeout: 60_000 });
    expect(apiListCalls.length).toBe(1);
    expect(vmsGets).toEqual([]);
    expect(await tinyPageAnswers(createPort, 120_000)).toBe(true);
  });

  it('types into the serial console and reads the echo', async () => {
    await row().getByRole('button', { name }).click();
    await page.getByRole('tab', { name: 'Serial console' }).click();
    await page
      .locator('[data-console="serial"][data-console-status="connected"]')
      .waitFor({ timeout: 30_000 });
    const screen = page.locator('[data-testid="serial-terminal"] .xterm-rows');
    await page.locator('[data-testid="serial-terminal"]').click();
    const seen = await waitUntil(
      async () => {
        await page.keyboard.type('echo roost-web-$((40+2))\n');
        return (await screen.innerText()).includes('roost-web-42');
      },
      60_000,
      2_000,
    );
    expect(seen).toBe(true);
    await shot('web-serial.png');
  });

  it('renders the graphical console (noVNC, loaded only now)', async () => {
    const chunks: string[] = [];
    page.on('response', (r) => chunks.push(new URL(r.url()).pathname));
    await page.getByRole('tab', { name: 'Graphical console' }).click();
    await page.locator('[data-console="vnc"][data-console-status="connected"]').waitFor({ timeout: 30_000 });
    expect(chunks.some((p) => /\/assets\/rfb-.*\.js$/.test(p))).toBe(true);
    const drawn = await waitUntil(() => page.evaluate<boolean>(CANVAS_DRAWN), 30_000, 500);
    expect(drawn).toBe(true);
    await shot('web-vnc.png');
  });

  it('adds a port in the port editor and fetches through it', async () => {
    const added = await freePort();
    await page.getByRole('tab', { name: 'Ports' }).click();
    await page.getByLabel(/Add a forward/).fill(`127.0.0.1:${added}:80`);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator(`[data-port="127.0.0.1:${added}:80/tcp"]`).waitFor({ timeout: 60_000 });
    const note = await page.locator('.ports-editor [role="status"]').innerText();
    await shot('web-ports.png');
    if (/next start/.test(note)) {
      // Saved, not live (the guest cannot re-plug its NIC): one restart from the page.
      await row().getByRole('button', { name: 'Stop' }).click();
      await row('shutoff').waitFor({ timeout: 120_000 });
      await row().getByRole('button', { name: 'Start' }).click();
      await row('running').waitFor({ timeout: 60_000 });
    }
    expect(await tinyPageAnswers(added, 120_000)).toBe(true);
    await expect(row().locator('td.ports').innerText()).resolves.toContain(`127.0.0.1:${added}:80/tcp`);
  });

  it('looks up its addresses: a passt VM is reached through its forwarded ports, and says so', async () => {
    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Look up addresses' }).click();
    const text = await page.locator('[data-testid="addresses"]').innerText({ timeout: 30_000 });
    expect(text).toContain(`127.0.0.1:${createPort} → 80/tcp (forwarded port)`);
    // GET /api/vms/:name answers what `roost info --json` prints, the address included: passt has none.
    expect(await page.locator('[data-testid="ip"]').innerText()).toBe('none found');
    // The shared folder made with --mount, from the same answer (its `mounts`).
    expect(await page.locator('[data-testid="mounts"] [data-mount="roost0"]').innerText()).toBe(
      `${share} → /srv/shared (ro, 9p, tag roost0)`,
    );
  });

  it('is readable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.evaluate('window.scrollTo(0, 0)');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('web-phone.png');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('stops it from the page (ACPI)', async () => {
    await row().getByRole('button', { name: 'Stop' }).click();
    await row('shutoff').waitFor({ timeout: 120_000 });
  });

  it('deletes it from the page, after confirmation', async () => {
    await row().getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // Escape cancels: nothing happens.
    await page.keyboard.press('Escape');
    await page.waitForTimeout(300);
    expect(await domainNames(uri)).toContain(name);
    await row().getByRole('button', { name: 'Delete' }).click();
    await shot('web-confirm.png');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row().waitFor({ state: 'detached', timeout: 30_000 });
    expect(await domainNames(uri)).not.toContain(name);
  });

  it('creates a VM from the form (defined, not started) and shows the host check', async () => {
    const formVm = scope.name('form');
    await page.getByRole('tab', { name: 'New machine' }).click();
    await page.getByLabel('Name').fill(formVm);
    await page.getByLabel('Kernel', { exact: true }).check();
    await page.getByLabel('Kernel path').fill(guest.kernel);
    await page.getByLabel('Initrd path').fill(guest.initrd);
    await page.getByLabel('Kernel command line').fill(guest.cmdline);
    await page.getByLabel('Memory').fill('256M');
    await page.getByLabel('CPUs').fill('1');
    await page.getByLabel('Networks').fill('user bridge=virbr0');
    await page.getByLabel('Start it now').uncheck();
    await shot('web-create.png');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator(`tr[data-vm="${formVm}"][data-state="shutoff"]`).waitFor({ timeout: 30_000 });
    expect(await domainNames(uri)).toContain(formVm);
    // The form's networks reached the VM, a NIC each, as `--network user --network bridge=virbr0` makes them
    // (defined only: the bridge need not exist until it starts).
    expect((await roostJson<{ networks: string[] }>(user, ['info', formVm])).networks).toEqual([
      'user',
      'bridge:virbr0',
    ]);

    await page.getByRole('tab', { name: 'Host check' }).click();
    await page.locator('[data-testid="doctor-summary"]').waitFor({ timeout: 60_000 });
    await shot('web-doctor.png');
    expect(web.stderr()).not.toMatch(/error/i);
  });
});
