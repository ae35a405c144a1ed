// Faults during `roost port add|rm --apply now` on a running VM: the change saves the new forwards, tries the
// running NIC in place, unplugs it and plugs it back with the new forwards. Ctrl-C before the unplug undoes the
// change; Ctrl-C after it lets the change finish; a daemon killed with any step's call in flight is rolled back
// over a new daemon. In every case the saved forwards, the live NIC's forwards, the VM's passt and the host ports
// listened on end exactly as before or exactly as asked, and running the command again works. One tiny-guest VM
// serves every case. Also: a forwarded port another program takes while create runs is found after the start
// (passt drops it without failing), and create rolls back.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDomainXml } from '../../src/domain-xml/parse.js';
import { fromPortForwardSpec } from '../../src/net/ports.js';
import { formatPortForward } from '../../src/net/port-spec.js';
import { hostListeners } from '../../src/net/port-check.js';
import {
  createScope,
  freePort,
  harness,
  roost,
  startSessionDaemon,
  virsh,
  type RunResult,
} from '../harness/index.js';
import {
  ensureDaemon,
  expectCleanMessage,
  inventory,
  processLines,
  runHooked,
  runningArgs,
  signalDaemons,
} from './faults.js';

const { user, uri } = harness();
const scope = createScope('faultport', user, uri);
const name = scope.name('vm');
let p1: number; // forwarded since create
let p2: number; // the forward each case adds
let before: PortState;
let after: PortState;

/** What a port change touches: the saved and the live forwards, the VM's passt, and the host ports listened on. */
interface PortState {
  saved: string[];
  live: string[];
  passt: string[];
  listening: number[];
}

async function forwardsIn(args: string[]): Promise<string[]> {
  const xml = (await virsh(uri, ['dumpxml', ...args, name])).stdout;
  return parseDomainXml(xml)
    .nics.flatMap((n) => n.ports.map((p) => formatPortForward(fromPortForwardSpec(p))))
    .sort();
}

async function portState(): Promise<PortState> {
  await ensureDaemon(user);
  return {
    saved: await forwardsIn(['--inactive']),
    live: await forwardsIn([]),
    passt: processLines(user, /^passt/),
    listening: hostListeners()
      .filter((l) => l.proto === 'tcp' && (l.port === p1 || l.port === p2))
      .map((l) => l.port)
      .sort(),
  };
}

const add = () => ['port', 'add', name, `${p2}:80`, '--apply', 'now'];
const remove = () => ['port', 'rm', name, `${p2}`, '--apply', 'now'];

/** Runs `args` again without faults: it works, and leaves `state`. */
async function retry(args: string[], state: () => PortState): Promise<void> {
  const r = await roost(user, args);
  expect(r.code, r.stderr).toBe(0);
  expect(await portState()).toEqual(state());
}

/** Runs `args` with `fault` at the step `hook` pauses before: a Ctrl-C there, or the daemon killed in it. */
async function withFault(args: string[], hook: string, fault: 'SIGINT' | 'daemon'): Promise<RunResult> {
  const run = runHooked(user, args, hook);
  await run.marker(`paused before ${hook}`);
  if (fault === 'SIGINT') {
    run.signal('SIGINT');
  } else {
    signalDaemons(user, 'SIGSTOP');
    run.resume();
    await run.marker(`in ${hook}`);
    signalDaemons(user, 'SIGKILL');
  }
  const r = await run.done;
  expectCleanMessage(r.stderr);
  return r;
}

beforeAll(async () => {
  [p1, p2] = [await freePort(), await freePort()];
  // Booted (its web server answers through the forward): a guest still booting does not release a NIC yet.
  const args = [...runningArgs(user, p1), '--wait', 'port:80'];
  const r = await roost(user, ['create', name, ...args], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`create failed: ${r.stderr}`);
  before = await portState();
  expect(before.listening).toEqual([p1]);
  // The state a completed `port add` leaves, read from the real thing; the cases begin there.
  const added = await roost(user, add());
  expect(added.code, added.stderr).toBe(0);
  after = await portState();
  expect(after.listening).toEqual([p1, p2].sort());
  expect(after.saved).toEqual(after.live);
}, 400_000);
afterAll(async () => {
  signalDaemons(user, 'SIGCONT'); // should a test have failed between stopping and killing it
  await ensureDaemon(user);
  await scope.cleanup();
  // The daemon that runs now was started on demand, with an idle timeout: put a harness daemon back.
  await startSessionDaemon(user);
});

// The cases run in this order on one VM: each begins in the state the one before left (`port rm` from the
// after-state, `port add` from the before-state), and most end with the retry that shows the command works again.
describe('port add/rm --apply now under Ctrl-C and a killed daemon', () => {
  const rolledBackSave = () => `rolled back: the change to VM '${name}''s saved forwards`;

  it('rm, Ctrl-C before the NIC is touched (port:update): the save is undone, exit 130; a retry works', async () => {
    const r = await withFault(remove(), 'port:update', 'SIGINT');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('roost port rm was interrupted (SIGINT)');
    expect(r.stderr).toContain(rolledBackSave());
    expect(r.stderr).toContain('nothing was left behind');
    expect(await portState()).toEqual(after);
    await retry(remove(), () => before);
  });

  it('add, Ctrl-C before anything is saved (port:define): nothing changed, exit 130', async () => {
    const r = await withFault(add(), 'port:define', 'SIGINT');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('roost port add was interrupted (SIGINT): nothing was changed');
    expect(await portState()).toEqual(before);
  });

  for (const hook of ['port:update', 'port:detach']) {
    it(`add, Ctrl-C after the save, before the NIC is unplugged (${hook}): the save is undone, exit 130; a retry works`, async () => {
      const r = await withFault(add(), hook, 'SIGINT');
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain('roost port add was interrupted (SIGINT)');
      expect(r.stderr).toContain(rolledBackSave());
      expect(await portState()).toEqual(before);
      await retry(add(), () => after);
      if (hook === 'port:update') await retry(remove(), () => before);
    });
  }

  it('rm, Ctrl-C once the NIC is unplugged (port:attach): the change finishes, says so, exit 130', async () => {
    const r = await withFault(remove(), 'port:attach', 'SIGINT');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain(
      `interrupted (SIGINT) while the network interface was unplugged: finished plugging it back in with the new forwards rather than leave ${name} without one`,
    );
    expect(r.stdout).toContain(`removed 127.0.0.1:${p2}:80/tcp`);
    expect(await portState()).toEqual(before);
  });

  it('add, the daemon killed with the save in flight (port:define): nothing changed, exit 1; a retry works', async () => {
    const r = await withFault(add(), 'port:define', 'daemon');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('the libvirt daemon went away while saving the new forwards');
    expect(await portState()).toEqual(before);
    await retry(add(), () => after);
  });

  it('rm, the daemon killed with the plug-in in flight (port:attach): the NIC with the old forwards is plugged back over a new daemon, exit 1; a retry works', async () => {
    const r = await withFault(remove(), 'port:attach', 'daemon');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      'the libvirt daemon went away while plugging the network interface back in with the new forwards',
    );
    expect(r.stderr).toContain(`the re-plug of VM '${name}''s network interface`);
    expect(r.stderr).toContain('nothing was left behind');
    expect(await portState()).toEqual(after);
    await retry(remove(), () => before);
  });

  for (const [hook, doing] of [
    ['port:update', 'updating the running network interface'],
    ['port:detach', 'unplugging the network interface'],
    ['port:attach', 'plugging the network interface back in with the new forwards'],
  ] as const) {
    it(`add, the daemon killed with ${hook} in flight: rolled back over a new daemon, exit 1; a retry works`, async () => {
      const r = await withFault(add(), hook, 'daemon');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`the libvirt daemon went away while ${doing}`);
      expect(r.stderr).toContain(`the change to VM '${name}''s saved forwards`);
      if (hook === 'port:attach')
        expect(r.stderr).toContain(`the re-plug of VM '${name}''s network interface`);
      expect(r.stderr).toContain('nothing was left behind');
      expect(await portState()).toEqual(before);
      if (hook === 'port:attach') await retry(add(), () => after);
    });
  }

  it('rm, the daemon killed with the unplug in flight (port:detach): the forward stays, exit 1; a retry works', async () => {
    const r = await withFault(remove(), 'port:detach', 'daemon');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('the libvirt daemon went away while unplugging the network interface');
    expect(await portState()).toEqual(after);
    await retry(remove(), () => before);
  });

  it('add, Ctrl-C once the NIC is unplugged (port:attach): the change finishes, says so, exit 130', async () => {
    const r = await withFault(add(), 'port:attach', 'SIGINT');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('finished plugging it back in with the new forwards');
    expect(r.stdout).toContain(`added 127.0.0.1:${p2}:80/tcp`);
    expect(await portState()).toEqual(after);
  });
});

describe('a forwarded port taken after the checks', () => {
  it('create rolls back, naming the port and who holds it (passt would have dropped it silently)', async () => {
    const inv = await inventory(user, uri);
    const vm = scope.name('taken');
    const [free, taken] = [await freePort(), await freePort()];
    const args = ['create', vm, ...runningArgs(user, free), '--port', `127.0.0.1:${taken}:80`];
    const run = runHooked(user, args, 'create:start');
    await run.marker('paused before create:start');
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(taken, '127.0.0.1', r));
    try {
      run.resume();
      const r = await run.done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `host port ${taken}/tcp on 127.0.0.1 (127.0.0.1:${taken}:80/tcp) is held by a process of user root (uid 0): passt could not listen on it`,
      );
      expect(r.stderr).toContain(`rolled back:`);
      expectCleanMessage(r.stderr);
      expect(await inventory(user, uri)).toEqual(inv);
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });
});
