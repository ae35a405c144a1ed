// The web console's live plots and the rest of a day's use, in real Chromium against the real session daemon,
// the servers run as the unprivileged test user (docs/web.md):
// - one tiny guest made and booted once by the CLI, with a forward to its web server: its row's sparklines
//   gain points from the server's real stats samples (libvirt's bulk stats call), the panel's Usage chart
//   says the CPU time rising, the forward is a link that opens the guest's page, and the Logs view shows what
//   the guest printed on its serial console and QEMU's log;
// - a second server whose image catalogue downloads from a local mirror (ROOST_IMAGE_MIRROR, a private
//   XDG_CACHE_HOME: the test user's own cache is never touched): the Images view pulls debian-12 with its
//   progress streamed, and a VM is created from it with a login user, an ssh key and cloud-config of its own,
//   which end up in the VM's seed.
// The screenshots web-usage.png, web-logs.png, web-images.png and web-create-image.png in docs/img/ are taken here.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha512, startFileServer, type FileServer } from '../../src/images/testing.js';
import type { VmInfo } from '../../src/shared/api-types.js';
import {
  createScope,
  freePort,
  harness,
  roost,
  roostJson,
  tinyCreateArgs,
  tinyGuest,
  tinyPageAnswers,
  waitUntil,
} from '../harness/index.js';
import { unnamed } from './a11y.js';
import { launchChromium } from './browser.js';
import { startWeb, type RunningWeb } from './web-server.js';

const { user, uri } = harness();
const scope = createScope('webcon', user, uri);
const guest = tinyGuest(user);
const IMG = join(import.meta.dirname, '..', '..', 'docs', 'img');
const name = scope.name('vm');

let browser: Browser;

beforeAll(async () => {
  mkdirSync(IMG, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await scope.cleanup();
});

/** A logged-in page of `web`, showing the live list. */
async function openConsole(web: RunningWeb): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(web.url);
  await page.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
  return page;
}

/** The number in a chart's aria-label after `what` ("CPU time 12.3 s" → 12.3). */
function numberAfter(label: string | null, what: string): number {
  const m = new RegExp(`${what} ([0-9.]+)`).exec(label ?? '');
  if (!m) throw new Error(`no '${what}' in ${JSON.stringify(label)}`);
  return Number(m[1]);
}

describe('a running VM in the console: plots, port links, logs', () => {
  let web: RunningWeb;
  let page: Page;
  let port: number;
  const row = () => page.locator(`tr[data-vm="${name}"]`);

  beforeAll(async () => {
    port = await freePort();
    const r = await roost(user, ['create', name, ...tinyCreateArgs(guest), '--port', `127.0.0.1:${port}:80`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await tinyPageAnswers(port, 120_000)).toBe(true);
    web = await startWeb(user);
    page = await openConsole(web);
    await page.locator(`tr[data-vm="${name}"][data-state="running"]`).waitFor({ timeout: 15_000 });
  });
  afterAll(async () => {
    await page?.close().catch(() => {});
    await web?.stop();
  });

  it("draws the row's sparklines from real stats, gaining points as samples arrive", async () => {
    const cpu = row().getByRole('img', { name: /^CPU / });
    const memory = row().getByRole('img', { name: /^Memory / });
    const points = async () => Number(await cpu.getAttribute('data-points'));
    // The first sample has no CPU % (a rate needs two): the line starts with the second, 5 s later.
    await expect.poll(points, { timeout: 30_000, interval: 500 }).toBeGreaterThanOrEqual(1);
    const before = { n: await points(), line: await cpu.locator('polyline').getAttribute('points') };
    await expect.poll(points, { timeout: 30_000, interval: 500 }).toBeGreaterThan(before.n);
    expect(await cpu.locator('polyline').getAttribute('points')).not.toBe(before.line);
    // Said in words to a screen reader: the latest value and the CPU time.
    expect(await cpu.getAttribute('aria-label')).toMatch(
      /^CPU [0-9.]+ % now, peak [0-9.]+ %, CPU time [0-9.]+ s/,
    );
    // Memory has a value from the first sample on (QEMU's resident size, or the guest's balloon figure).
    expect(await memory.getAttribute('aria-label')).toMatch(/^Memory [0-9]+ MiB now/);
    expect(Number(await memory.getAttribute('data-points'))).toBeGreaterThanOrEqual(1);
    for (const m of ['Disk I/O', 'Network I/O'])
      await expect(
        row()
          .getByRole('img', { name: new RegExp(`^${m}`) })
          .count(),
      ).resolves.toBe(1);
  });

  it("shows the CPU time rising in the panel's Usage chart, which the server's history filled", async () => {
    await row().getByRole('button', { name }).click();
    await page.getByRole('tab', { name: 'Usage' }).click();
    const chart = page.locator('[data-testid="usage"] svg.chart[data-metric="cpu"]');
    await expect
      .poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(2);
    const first = numberAfter(await chart.getAttribute('aria-label'), 'CPU time');
    // The guest's QEMU uses CPU while it runs (TCG): the next samples say more seconds.
    await expect
      .poll(async () => numberAfter(await chart.getAttribute('aria-label'), 'CPU time'), {
        timeout: 60_000,
        interval: 1000,
      })
      .toBeGreaterThan(first);
    await page.screenshot({ path: join(IMG, 'web-usage.png') });
    expect(await unnamed(page)).toEqual([]);

    // A new page gets the kept samples at once, with the list in the event stream's first message.
    const other = await openConsole({
      ...web,
      url: (await roostJson<{ url: string }>(user, ['web', 'link'])).url,
    });
    try {
      const spark = other.locator(`tr[data-vm="${name}"] svg[data-metric="cpu"]`);
      await expect
        .poll(async () => Number(await spark.getAttribute('data-points')), { timeout: 4_000 })
        .toBeGreaterThanOrEqual(2);
    } finally {
      await other.close();
    }
  });

  it("makes the forward to the guest's web server a link that opens the guest's page in a new tab", async () => {
    const link = row().locator('td.ports a');
    expect(await link.getAttribute('href')).toBe(`http://127.0.0.1:${port}/`);
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    const [tab] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await tab.waitForLoadState();
    expect(await tab.locator('body').innerText()).toContain('roost tiny guest OK');
    // No way back to the console's window from the guest's app.
    expect(await tab.evaluate('window.opener === null')).toBe(true);
    await tab.close();
  });

  it("shows the serial console log and QEMU's log in the Logs view", async () => {
    await page.getByRole('tab', { name: 'Logs' }).click();
    const serial = page
      .getByRole('region', { name: `VM ${name}`, exact: true })
      .locator('pre[data-log="serial"]');
    await expect.poll(() => serial.innerText(), { timeout: 15_000 }).toContain(guest.readyMarker);
    // A focusable, labelled region: it scrolls with the keyboard.
    const region = page.getByRole('region', { name: `Serial log of ${name}`, exact: true });
    expect(await region.getAttribute('tabindex')).toBe('0');
    await page.screenshot({ path: join(IMG, 'web-logs.png') });
    expect(await unnamed(page)).toEqual([]);
    await page.getByLabel('QEMU', { exact: true }).check();
    // QEMU's log starts with the command line libvirt ran, which names the guest.
    await expect
      .poll(() => page.locator('pre[data-log="qemu"]').innerText(), { timeout: 15_000 })
      .toContain(`guest=${name}`);
  });

  it('keeps the list readable at phone width, sparklines included', async () => {
    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate('window.scrollTo(0, 0)');
    expect(
      await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);
    await expect(row().getByRole('img', { name: /^CPU / }).isVisible()).resolves.toBe(true);
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});

describe('the image catalogue in the console, from a local mirror', () => {
  const DEBIAN_DIR = '/cloud.debian.org/images/cloud/bookworm/latest';
  const DEBIAN_FILE = 'debian-12-genericcloud-amd64.qcow2';
  const vm = scope.name('img');
  const marker = `roost-web-${scope.prefix}`;
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheWebConsoleTest0123456789ab web-console-test';
  let mirror: FileServer;
  let web: RunningWeb;
  let page: Page;
  let keyFile: string;

  beforeAll(async () => {
    // A real qcow2 (qemu-img makes it), sent slowly enough for its progress to be seen.
    const made = join(scope.dir, 'made.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', made, '2G']);
    const image = readFileSync(made);
    mirror = await startFileServer({
      files: {
        [`${DEBIAN_DIR}/${DEBIAN_FILE}`]: image,
        [`${DEBIAN_DIR}/SHA512SUMS`]: `${sha512(image)}  ${DEBIAN_FILE}\n`,
      },
      chunk: { bytes: 4096, delayMs: 100 },
    });
    const cacheHome = join(scope.dir, 'cache');
    keyFile = join(scope.dir, 'id_test.pub');
    mkdirSync(cacheHome, { mode: 0o700 });
    writeFileSync(keyFile, `${key}\n`);
    if (process.getuid?.() === 0) {
      chownSync(cacheHome, user.uid, user.gid);
      chownSync(keyFile, user.uid, user.gid);
    }
    web = await startWeb(user, [], 30_000, { ROOST_IMAGE_MIRROR: mirror.url, XDG_CACHE_HOME: cacheHome });
    page = await openConsole(web);
  });
  afterAll(async () => {
    await page?.close().catch(() => {});
    await web?.stop();
    await mirror?.close();
    // Through roost, which also forgets the VM's ssh alias (the scope's cleanup removes what is left).
    await roost(user, ['rm', '--force', vm]);
  });

  it('pulls debian-12 from the Images view, its progress streamed, until it is cached', async () => {
    await page.getByRole('tab', { name: 'Images' }).click();
    const image = page.locator('tr[data-image="debian-12"]');
    await expect(image.getAttribute('data-cached')).resolves.toBe('false');
    expect(await unnamed(page)).toEqual([]);
    // With the keyboard: the button has the focus, Enter pulls.
    await image.getByRole('button', { name: 'Pull debian-12' }).focus();
    await page.keyboard.press('Enter');
    const status = image.locator('[data-pull="progress"] [role="status"]');
    await status.waitFor({ timeout: 15_000 });
    const seen = new Set<string>();
    await waitUntil(
      async () => {
        // Gone once the download is verified: then nothing more to read.
        const t = await status.innerText({ timeout: 500 }).catch(() => '');
        if (t) seen.add(t);
        return seen.size >= 2;
      },
      15_000,
      150,
    );
    // Several distinct amounts: the bar moves with the download (e.g. "52 KiB of 196 KiB", then more).
    expect(
      [...seen].every((t) => /^[0-9.]+ (B|KiB)( of [0-9.]+ KiB)?$/.test(t)),
      [...seen].join(' | '),
    ).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(IMG, 'web-images.png') });
    expect(await unnamed(page)).toEqual([]);
    await page.locator('tr[data-image="debian-12"][data-cached="true"]').waitFor({ timeout: 60_000 });
    expect(await image.locator('[data-pull="cached"]').innerText()).toMatch(/^yes, [0-9.]+ KiB$/);
    expect(mirror.requests.filter((q) => q.path.endsWith('.qcow2'))).toHaveLength(1);
  });

  it('creates a VM from it with a login user, an ssh key and cloud-config, all in its seed', async () => {
    await page.getByRole('button', { name: 'New VM from debian-12' }).click();
    await expect(page.getByLabel(/^Image/).inputValue()).resolves.toBe('debian-12');
    await page.getByLabel('Name', { exact: true }).fill(vm);
    await page.getByLabel('Login user').fill('alice');
    await page.getByLabel(/SSH public key file/).fill(keyFile);
    await page.getByLabel(/Cloud-config/).fill(`#cloud-config\nruncmd:\n  - echo ${marker}\n`);
    await page.getByLabel('Memory').fill('1G');
    await page.getByLabel('Start it now').uncheck();
    // The page redraws with every stats event (5 s): what was typed stays as typed.
    await page.waitForTimeout(6_000);
    await expect(page.getByLabel('Memory').inputValue()).resolves.toBe('1G');
    await expect(page.getByLabel('Start it now').isChecked()).resolves.toBe(false);
    await page.screenshot({ path: join(IMG, 'web-create-image.png'), fullPage: true });
    expect(await unnamed(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator(`tr[data-vm="${vm}"][data-state="shutoff"]`).waitFor({ timeout: 60_000 });

    const info = await roostJson<VmInfo>(user, ['info', vm]);
    expect(info.roost).toMatchObject({ imageRef: 'debian-12', sshUser: 'alice' });
    const seed = info.disks.find((d) => d.device === 'cdrom')?.path;
    expect(seed).toBeTruthy();
    // The seed is an ISO 9660 image: user-data is stored as it is, so its text is in the bytes.
    const bytes = readFileSync(seed!).toString('latin1');
    expect(bytes).toContain(marker);
    expect(bytes).toContain(key);
    expect(bytes).toContain('name: alice');
  });

  it("refuses cloud-config that is not a YAML mapping, with the API's message under the form", async () => {
    // The form went back to the list when the VM was made; it still starts from the image picked.
    await page.getByRole('tab', { name: 'New machine' }).click();
    await expect(page.getByLabel(/^Image/).inputValue()).resolves.toBe('debian-12');
    await page.getByLabel('Name', { exact: true }).fill(scope.name('bad'));
    await page.getByLabel(/Cloud-config/).fill('- just\n- a list\n');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect
      .poll(() => page.locator('form.create').innerText(), { timeout: 30_000 })
      .toMatch(/the cloud-config given: a cloud-config must be a YAML mapping/);
    expect(await roostJson<{ name: string }[]>(user, ['ls'])).not.toContainEqual(
      expect.objectContaining({ name: scope.name('bad') }),
    );
  });
});
