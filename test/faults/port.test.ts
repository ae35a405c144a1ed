// Faults during `roost port add|rm --apply now` on a running VM: the change saves the new forwards, tries the
// running NIC in place, unplugs it and plugs it back with the new forwards. Ctrl-C before the unplug undoes the
// change; Ctrl-C after it lets the change finish; a daemon killed with any step's call in flight is rolled back
// over a new daemon. In every case the saved forwards, the live NIC's forwards, the VM's passt and the host ports
// listened on end exactly as before or exactly as asked, and running the command again works. One tiny-guest VM
// serves every case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDomainXml } from '../../src/domain-xml/parse.js';
import { fromPortForwardSpec } from '../../src/net/ports.js';
import { formatPortForward } from '../../src/net/port-spec.js';
import { hostListeners } from '../../src/net/port-check.js';
import { createScope, freePort, harness, roost, startSessionDaemon, virsh } from '../harness/index.js';
import {
  ensureDaemon,
  expectCleanMessage,
  processLines,
  runHooked,
  runningArgs,
  signalDaemons,
  type HookedRun,
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

/** Kills the daemon with the call of the step `hook` pauses before in flight. */
async function killDaemonIn(run: HookedRun, hook: string): Promise<void> {
  await run.marker(`paused before ${hook}`);
  signalDaemons(user, 'SIGSTOP');
  run.resume();
  await run.marker(`in ${hook}`);
  signalDaemons(user, 'SIGKILL');
}

beforeAll(async () => {
  [p1, p2] = [await freePort(), await freePort()];
  const r = await roost(user, ['create', name, ...runningArgs(user, p1)], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`create failed: ${r.stderr}`);
  before = await portState();
  expect(before.listening).toEqual([p1]);
  // The state a completed `port add` leaves, read once from the real thing.
  const added = await roost(user, add());
  expect(added.code, added.stderr).toBe(0);
  after = await portState();
  expect(after.listening).toEqual([p1, p2].sort());
  expect(after.saved).toEqual(after.live);
  const removed = await roost(user, remove());
  expect(removed.code, removed.stderr).toBe(0);
  expect(await portState()).toEqual(before);
}, 400_000);
afterAll(async () => {
  signalDaemons(user, 'SIGCONT'); // should a test have failed between stopping and killing it
  await ensureDaemon(user);
  await scope.cleanup();
  // The daemon that runs now was started on demand, with an idle timeout: put a harness daemon back.
  await startSessionDaemon(user);
});

describe('Ctrl-C during port add --apply now', () => {
  it('before anything is saved (port:define): stops with nothing changed, exit 130', async () => {
    const run = runHooked(user, add(), 'port:define');
    await run.marker('paused before port:define');
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('roost port add was interrupted (SIGINT): nothing was changed');
    expectCleanMessage(r.stderr);
    expect(await portState()).toEqual(before);
  });

  for (const hook of ['port:update', 'port:detach']) {
    it(`after the forwards were saved, before the NIC is unplugged (${hook}): undoes the save, exit 130; a retry works`, async () => {
      const run = runHooked(user, add(), hook);
      await run.marker(`paused before ${hook}`);
      run.signal('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain('roost port add was interrupted (SIGINT)');
      expect(r.stderr).toContain(`rolled back: the change to VM '${name}''s saved forwards`);
      expect(r.stderr).toContain('nothing was left behind');
      expectCleanMessage(r.stderr);
      expect(await portState()).toEqual(before);
      await retry(add(), () => after);
      await retry(remove(), () => before);
    });
  }

  it('once the NIC is unplugged (port:attach): finishes with the new forwards, says so, exit 130', async () => {
    const run = runHooked(user, add(), 'port:attach');
    await run.marker('paused before port:attach');
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain(
      `interrupted (SIGINT) while the network interface was unplugged: finished plugging it back in with the new forwards rather than leave ${name} without one`,
    );
    expect(r.stdout).toContain(`added 127.0.0.1:${p2}:80/tcp`);
    expect(await portState()).toEqual(after);
    await retry(remove(), () => before);
  });
});

describe('the daemon killed during port add --apply now', () => {
  it('with the save in flight (port:define): nothing changed, a plain message, exit 1; a retry works', async () => {
    const run = runHooked(user, add(), 'port:define');
    await killDaemonIn(run, 'port:define');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('the libvirt daemon went away while saving the new forwards');
    expectCleanMessage(r.stderr);
    expect(await portState()).toEqual(before);
    await retry(add(), () => after);
    await retry(remove(), () => before);
  });

  for (const [hook, doing] of [
    ['port:update', 'updating the running network interface'],
    ['port:detach', 'unplugging the network interface'],
    ['port:attach', 'plugging the network interface back in with the new forwards'],
  ] as const) {
    it(`with ${hook} in flight: rolled back over a new daemon, exit 1; a retry works`, async () => {
      const run = runHooked(user, add(), hook);
      await killDaemonIn(run, hook);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`the libvirt daemon went away while ${doing}`);
      expect(r.stderr).toContain(`the change to VM '${name}''s saved forwards`);
      if (hook === 'port:attach') {
        // The NIC was out when the daemon died: the rollback plugged it back with its old forwards.
        expect(r.stderr).toContain(`the re-plug of VM '${name}''s network interface`);
      }
      expect(r.stderr).toContain('nothing was left behind');
      expectCleanMessage(r.stderr);
      expect(await portState()).toEqual(before);
      await retry(add(), () => after);
      await retry(remove(), () => before);
    });
  }
});

describe('port rm --apply now', () => {
  it('the daemon killed with the plug-in in flight: the removed forward is back, saved and live', async () => {
    await retry(add(), () => after);
    const run = runHooked(user, remove(), 'port:attach');
    await killDaemonIn(run, 'port:attach');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('rolled back:');
    expectCleanMessage(r.stderr);
    expect(await portState()).toEqual(after);
    await retry(remove(), () => before);
  });

  it('Ctrl-C before the NIC is unplugged: the forward stays, exit 130', async () => {
    await retry(add(), () => after);
    const run = runHooked(user, remove(), 'port:detach');
    await run.marker('paused before port:detach');
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('roost port rm was interrupted (SIGINT)');
    expect(await portState()).toEqual(after);
    await retry(remove(), () => before);
  });
});
