// Messages and exit codes through the built CLI, as the test user: what a user reads when a port forward is
// already there, on an address the host does not have, or port 0; a memory size beyond any host or beyond this
// one; a start that passt cannot bind for. Exit codes: 0 ok, 1 failed, 2 bad input (nothing changed).
// One VM, defined and never booted (the failed start fails before QEMU runs).
import { chownSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
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
  virsh,
  type RunResult,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('msg', user, uri);
const name = scope.name('vm');
let port: number;
const servers: Server[] = [];

const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
const xml = () => virsh(uri, ['dumpxml', '--inactive', name]).then((r) => r.stdout);

beforeAll(async () => {
  port = await freePort();
  const r = await roost(user, [
    'create',
    name,
    ...tinyCreateArgs(tinyGuest(user)),
    '--port',
    `${port}:80`,
    '--no-start',
  ]);
  expect(r.code, text(r)).toBe(0);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await scope.cleanup();
});

describe('port add / rm', () => {
  it('a forward the VM already has: exit 0, "already forwarded", nothing written', async () => {
    const before = await xml();
    const r = await roost(user, ['port', 'add', name, `${port}:80`]);
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toContain(`127.0.0.1:${port}:80/tcp is already forwarded to ${name}`);
    const j = await roostJson<{ already: string[]; added: string[] }>(user, [
      'port',
      'add',
      name,
      `${port}:80`,
    ]);
    expect(j).toMatchObject({ already: [`127.0.0.1:${port}:80/tcp`], added: [] });
    expect(await xml()).toBe(before);
  });

  it('an address this host does not have: exit 2, "no address", not "in use"', async () => {
    const r = await roost(user, ['port', 'add', name, `192.0.2.7:${port + 1}:80`]);
    expect(r.code, text(r)).toBe(2);
    expect(r.stderr).toContain('this host has no address 192.0.2.7');
    expect(r.stderr).not.toContain('in use');
  });

  it('port rm NAME 0: exit 2 naming the port as typed', async () => {
    const r = await roost(user, ['port', 'rm', name, '0']);
    expect(r.code, text(r)).toBe(2);
    expect(r.stderr).toContain("invalid port '0': port 0 is outside 1–65535");
    expect(r.stderr).not.toContain('0:0/tcp');
  });
});

describe('create --cloud-init with a wrong shape', () => {
  it.each([
    ['users: 7', "'users' is the number 7, it must be a list of users"],
    ['runcmd: 42', "'runcmd' is the number 42, it must be a list of commands"],
  ])('%s: exit 2 with the key and its line, nothing made', async (body, message) => {
    const image = join(scope.dir, 'blank.qcow2');
    await runAs(user, 'qemu-img', ['create', '-q', '-f', 'qcow2', image, '32M']);
    const file = join(scope.dir, 'bad.yaml');
    writeFileSync(file, `#cloud-config\n${body}\n`);
    chownSync(file, user.uid, user.gid);
    const vm = scope.name('ci');
    const r = await roost(user, ['create', vm, '--image', image, '--cloud-init', file, '--no-start']);
    expect(r.code, text(r)).toBe(2);
    expect(r.stderr).toContain(`${file}:2: ${message}`);
    expect(await domainNames(uri)).not.toContain(vm);
  });
});

describe('edit --memory', () => {
  it('999999G is bad input (exit 2), nothing changed', async () => {
    const before = await xml();
    const r = await roost(user, ['edit', name, '--memory', '999999G']);
    expect(r.code, text(r)).toBe(2);
    expect(r.stderr).toContain("memory '999999G' is too large");
    expect(await xml()).toBe(before);
  });

  it('more than this host has is refused with the figure (exit 2), nothing changed', async () => {
    const before = await xml();
    const r = await roost(user, ['edit', name, '--memory', '1T']);
    expect(r.code, text(r)).toBe(2);
    expect(r.stderr).toMatch(/memory 1T \(1024\.0 GiB\) is more than this host has \(\d+\.\d GiB\)/);
    expect(await xml()).toBe(before);
  });
});

describe('a start passt cannot bind for', () => {
  it("names the port and why, in roost's words (exit 1), not passt's", async () => {
    // Its only forward: passt starts when it can bind any port of its -t option (and leaves the others out).
    const taken = await freePort();
    const removed = await roost(user, ['port', 'rm', name, `${port}`]);
    expect(removed.code, text(removed)).toBe(0);
    const added = await roost(user, ['port', 'add', name, `${taken}:81`]);
    expect(added.code, text(added)).toBe(0);
    // Another program takes the port after the check: the start is where passt meets it.
    const squatter = createServer();
    servers.push(squatter);
    await new Promise<void>((r) => squatter.listen(taken, '127.0.0.1', r));
    const r = await roost(user, ['start', name]);
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toContain(
      `did not start: host port ${taken}/tcp on 127.0.0.1 is already in use by another program (127.0.0.1:${taken}:81/tcp)`,
    );
    expect(r.stderr).toContain(`roost port rm ${name} 127.0.0.1:${taken}:81/tcp`);
    expect(r.stderr).not.toMatch(/Failed to bind/);
  });
});
