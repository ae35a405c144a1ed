// What a guest can reach on the host (docs/networking.md, "What a guest can reach on the host"): passt maps the
// guest's gateway address to the host's loopback, and libvirt (through 11.3) starts passt with no way to turn
// that off. Measured here with the tiny guest: a host TCP server bound only to 127.0.0.1 answers the guest at
// its gateway address; passt runs without --no-map-gw; and `--host-access none`, which roost cannot honour with
// a passt NIC on this libvirt, is refused before anything is made. One VM, one boot. Traffic only to loopback.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachConsole } from '../../src/vm/console.js';
import { openContext, type VmContext } from '../../src/vm/context.js';
import {
  createScope,
  domainNames,
  freePort,
  harness,
  processesOf,
  roost,
  tinyCreateArgs,
  tinyGuest,
  volumeNames,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('hostacc', user, uri);
const guest = tinyGuest(user);
const name = scope.name('vm');
const token = `roost-host-access-${Math.random().toString(36).slice(2)}`;
let ctx: VmContext;
let server: Server;
let hostPort: number;
let fwd: number; // the VM's one forward: names its passt among the test user's

beforeAll(async () => {
  // A service on the host's loopback only, as a developer's database or dev server usually is: it greets
  // whoever connects with the token.
  server = createServer((socket) => socket.end(`${token}\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hostPort = (server.address() as AddressInfo).port;
  ctx = await openContext({ uri });
  fwd = await freePort();
  const r = await roost(
    user,
    [
      'create',
      name,
      ...tinyCreateArgs(guest),
      '--host-access',
      'loopback',
      '--port',
      `${fwd}:80`,
      '--wait',
      'port:80',
    ],
    { timeoutMs: 300_000 },
  );
  if (r.code !== 0) throw new Error(`create failed: ${r.stderr}`);
});
afterAll(async () => {
  await ctx?.close();
  await scope.cleanup();
  await new Promise((resolve) => server?.close(resolve));
});

/** Runs one shell line on the guest's serial console; resolves with what the console printed up to `end`. */
async function onConsole(line: string, end: string, timeoutMs = 60_000): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let seen = '';
  output.on('data', (b: Buffer) => (seen += b.toString('utf8')));
  const attached = attachConsole(ctx, name, { input, output });
  input.write(`${line}\n`);
  const deadline = Date.now() + timeoutMs;
  // The echo of the typed line contains `end` in pieces only ($(...) builds it), so a match is the output.
  while (!seen.includes(end) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  input.write(Buffer.from([0x1d]));
  await attached;
  return seen;
}

describe('host access from a passt guest', () => {
  it('with loopback: the guest reaches a host service bound to 127.0.0.1 at its gateway address', async () => {
    const out = await onConsole(
      `gw=$(ip route | awk '/^default/ {print $3; exit}'); echo "GW=[$gw]"; ` +
        `timeout 10 nc "$gw" ${hostPort} </dev/null 2>&1 | head -c 200; echo; echo ROOST-HA-$((40+2))`,
      'ROOST-HA-42',
    );
    const gw = /GW=\[([0-9.]+)\]/.exec(out)?.[1];
    console.log(
      `guest gateway ${gw ?? '(none)'}; host 127.0.0.1:${hostPort} answered: ${out.includes(token)}`,
    );
    expect(gw).toBeDefined();
    expect(out).toContain(token);
  });

  it('passt was started without --no-map-gw: the mapping is on, as for every libvirt-started passt', () => {
    const mine = processesOf(user.uid, /^passt/)
      .map((p) => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0'))
      .filter((argv) => argv.some((a) => a.endsWith(`/${fwd}:80`)));
    expect(mine.length).toBe(1);
    expect(mine[0]).not.toContain('--no-map-gw');
  });

  it('refuses --host-access none for a passt NIC, with the reason, and makes nothing', async () => {
    const other = scope.name('none');
    const r = await roost(user, [
      'create',
      other,
      ...tinyCreateArgs(guest),
      '--host-access',
      'none',
      '--no-start',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/host-access none/);
    expect(r.stderr).toMatch(/--no-map-gw/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await domainNames(uri)).not.toContain(other);
    expect((await volumeNames(uri, 'default').catch(() => [])).some((v) => v.includes(other))).toBe(false);
  });
});
