// The VM file in the console, in real Chromium against the real session daemon (the server run as the
// unprivileged test user): a VM's File tab shows what `roost export` prints; "Apply a file…" takes a pasted file,
// shows the plan first (nothing made yet), makes the VM on confirmation (its row appears, roost ls sees it), and
// shows a refused file's FILE:LINE:COL errors. Then the API's refusals a page on another origin or a hostile
// paste would meet (docs/security.md). The screenshot in docs/web.md (docs/img/web-apply.png) is written here.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyResult, VmSummary } from '../../src/shared/api-types.js';
import { SHAPES } from '../../src/shared/testing.js';
import {
  createScope,
  harness,
  roost,
  roostJson,
  tinyCreateArgs,
  tinyGuest,
  tinyVmDocument,
  virsh,
} from '../harness/index.js';
import { launchChromium } from './browser.js';
import { apiRequest, startWeb, type RunningWeb } from './web-server.js';

const { user, uri } = harness();
const scope = createScope('webapply', user, uri);
const guest = tinyGuest(user);
const name = scope.name('vm');
const applied = scope.name('applied');
const IMG = join(import.meta.dirname, '..', '..', 'docs', 'img');

let web: RunningWeb;
let browser: Browser;
let page: Page;

const row = (vm: string) => page.locator(`tr[data-vm="${vm}"]`);
const names = async () => (await roostJson<VmSummary[]>(user, ['ls'])).map((v) => v.name);
/** The file of the VM the test applies: the tiny guest from its kernel, every path absolute. */
const file = (vm: string, kernel = guest.kernel) => `${tinyVmDocument(guest, vm, { kernel })}\n`;
const api = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  apiRequest(web, method, path, headers, body);

beforeAll(async () => {
  mkdirSync(IMG, { recursive: true });
  const r = await roost(user, ['create', name, ...tinyCreateArgs(guest), '--disk', '64M', '--no-start']);
  expect(r.code, r.stderr).toBe(0);
  web = await startWeb(user);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(web.url);
  await page.locator('[data-link="live"]').waitFor({ timeout: 15_000 });
  await row(name).waitFor({ timeout: 15_000 });
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await web?.stop();
  await scope.cleanup();
});

describe('the VM file in the console', () => {
  it("shows a VM's file, read-only, as roost export prints it", async () => {
    await row(name).getByRole('button', { name }).click();
    await page.getByRole('tab', { name: 'File' }).click();
    const text = page.getByTestId('vm-file');
    await text.waitFor({ timeout: 15_000 });
    const cli = await roost(user, ['export', name]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(await text.inputValue()).toBe(cli.stdout);
    expect(cli.stdout).toContain(`name: ${name}`);
    expect(await text.getAttribute('readonly')).not.toBeNull();
    await page.getByRole('button', { name: 'Close' }).click();
  });

  it('shows the plan of a pasted file first, then makes the VM when confirmed', async () => {
    await page.getByRole('button', { name: 'Apply a file…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Apply a VM file' });
    await dialog.getByLabel(/The file/).fill(file(applied));
    await dialog.getByRole('button', { name: 'Show plan' }).click();
    const plan = dialog.getByTestId('apply-plan');
    await plan.waitFor({ timeout: 30_000 });
    expect(await plan.innerText()).toContain(`+ create ${applied}`);
    await page.screenshot({ path: join(IMG, 'web-apply.png') });
    // The plan changed nothing.
    expect(await names()).not.toContain(applied);

    await dialog.getByRole('button', { name: 'Apply', exact: true }).click();
    const result = dialog.locator('[data-testid="apply-result"]');
    await result.waitFor({ timeout: 120_000 });
    expect(await result.getAttribute('data-ok'), await result.innerText()).toBe('true');
    expect(await result.innerText()).toContain(`✓ ${applied}`);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await row(applied).waitFor({ timeout: 30_000 });
    const vm = (await roostJson<VmSummary[]>(user, ['ls'])).find((v) => v.name === applied);
    expect(vm?.memoryMiB).toBe(256);

    // The same file again: every VM as asked, nothing to apply.
    await page.getByRole('button', { name: 'Apply a file…' }).click();
    await dialog.getByLabel(/The file/).fill(file(applied));
    await dialog.getByRole('button', { name: 'Show plan' }).click();
    await plan.waitFor({ timeout: 30_000 });
    expect(await plan.innerText()).toContain(`= unchanged ${applied}`);
    expect(await dialog.getByRole('button', { name: 'Apply', exact: true }).isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it("shows a refused file's errors at their line, and makes nothing", async () => {
    const other = scope.name('refused');
    await page.getByRole('button', { name: 'Apply a file…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Apply a VM file' });
    await dialog.getByLabel(/The file/).fill(`${file(other, 'vmlinuz')}cpus: two\n`);
    await dialog.getByRole('button', { name: 'Show plan' }).click();
    const alert = dialog.locator('[role="alert"][data-error-code="VM_FILE_INVALID"]');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toMatch(/pasted file:\d+:\d+: key `cpus`/);

    await dialog.getByLabel(/The file/).fill(file(other, 'vmlinuz'));
    await dialog.getByRole('button', { name: 'Show plan' }).click();
    await alert.filter({ hasText: 'relative path' }).waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toMatch(
      /pasted file:1:1: key `kernel\.path`: .*'vmlinuz' is a relative path/,
    );
    expect(await dialog.getByTestId('apply-plan').count()).toBe(0);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await names()).not.toContain(other);
  });

  it('answers in the shared shapes, and refuses what a hostile page or paste would send', async () => {
    const exported = await api('GET', `/api/vms/${name}/export`);
    expect(exported.status).toBe(200);
    expect(SHAPES.ExportedFile.parse(JSON.parse(exported.body)).text).toContain(`name: ${name}`);
    const dry = await api('POST', '/api/apply', {}, { yaml: file(applied), dryRun: true });
    expect(dry.status).toBe(200);
    const plan: ApplyResult = SHAPES.ApplyResult.parse(JSON.parse(dry.body));
    expect(plan.vms.map((v) => [v.name, v.action])).toEqual([[applied, 'unchanged']]);

    const other = scope.name('hostile');
    const foreign = await api('POST', '/api/apply', { origin: 'http://127.0.0.1:1' }, { yaml: file(other) });
    expect(foreign.status).toBe(403);
    const noToken = await api('POST', '/api/apply', { authorization: '' }, { yaml: file(other) });
    expect(noToken.status).toBe(401);
    const prune = await api('POST', '/api/apply', {}, { yaml: file(other), prune: true });
    expect(prune.status).toBe(400);
    const home = await api('POST', '/api/apply', {}, { yaml: `${file(other)}mounts:\n  - host: '~/'\n` });
    expect(JSON.parse(home.body)).toMatchObject({ error: { code: 'MOUNT_HOME' } });
    expect(await names()).not.toContain(other);
    expect(web.stderr()).not.toMatch(/error/i);
  });
  it('never takes a VM from a file, nor hands one to a file, so --prune owns what it owned', async () => {
    const markOf = async (vm: string) =>
      /<apply:source [^>]*file=['"]([^'"]+)['"]/.exec(
        (await virsh(uri, ['dumpxml', '--inactive', vm])).stdout,
      )?.[1] ?? null;
    // Made from the page: recorded as from no file.
    expect(await markOf(applied)).toBeNull();
    // Applied from a file on disk: now that file's.
    const onDisk = join(scope.dir, 'vms.yaml');
    writeFileSync(onDisk, file(applied), { mode: 0o644 });
    const r = await roost(user, ['apply', onDisk]);
    expect(r.code, r.stderr).toBe(0);
    expect(await markOf(applied)).toBe(onDisk);
    // Changed from the page: still that file's, and the file's own apply sees only the change to undo.
    const changed = await api('POST', '/api/apply', {}, { yaml: file(applied).replace('256M', '384M') });
    const result = SHAPES.ApplyResult.parse(JSON.parse(changed.body));
    expect(result.ok, changed.body).toBe(true);
    expect(result.vms[0]).toMatchObject({ action: 'change', file: onDisk, outcome: 'as-asked' });
    expect(await markOf(applied)).toBe(onDisk);
    const plan = await roostJson<ApplyResult>(user, ['apply', onDisk, '--prune', '--dry-run']);
    expect(plan.vms.map((v) => [v.name, v.action, v.changes.map((c) => c.field)])).toEqual([
      [applied, 'change', ['memory']],
    ]);
  });
});
