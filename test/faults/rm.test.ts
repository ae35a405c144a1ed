// Faults during `roost rm` (and what a killed create leaves for it): Ctrl-C before anything changed stops it;
// Ctrl-C after the VM was powered off makes it finish, not leave half a VM; a daemon killed with a call in flight
// is reconnected to; a VM's disks are found from its definition, whatever XDG_DATA_HOME says today.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScope,
  startSessionDaemon,
  freePort,
  harness,
  roost,
  runAs,
  userEnv,
} from '../harness/index.js';
import { CLI } from '../harness/cli.js';
import {
  ensureDaemon,
  expectCleanMessage,
  inventory,
  runHooked,
  signalDaemons,
  runningArgs,
  unbootedArgs,
  type Inventory,
} from './faults.js';

const { user, uri } = harness();
const scope = createScope('faultrm', user, uri);
let port: number;
let before: Inventory;

const definedArgs = () => unbootedArgs(user);
const startedArgs = () => runningArgs(user, port);

async function create(name: string, args: string[]): Promise<void> {
  const r = await roost(user, ['create', name, ...args]);
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  port = await freePort();
  const warm = scope.name('warm');
  await create(warm, definedArgs());
  expect((await roost(user, ['rm', warm])).code).toBe(0);
  before = await inventory(user, uri);
});
afterAll(async () => {
  signalDaemons(user, 'SIGCONT'); // should a test have failed between stopping and killing it
  await ensureDaemon(user);
  await scope.cleanup();
  // The daemon that runs now was started on demand, with an idle timeout: put a harness daemon (none) back for
  // the files that follow.
  await startSessionDaemon(user);
});

describe('Ctrl-C during rm', () => {
  it('before the VM is powered off: rm stops with nothing changed (exit 130)', async () => {
    const name = scope.name('keep');
    await create(name, startedArgs());
    const withVm = await inventory(user, uri);
    const run = runHooked(user, ['rm', '--force', name], 'rm:destroy');
    await run.marker('paused before rm:destroy');
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('roost rm was interrupted (SIGINT)');
    expectCleanMessage(r.stderr);
    expect(await inventory(user, uri)).toEqual(withVm);
    expect((await roost(user, ['rm', '--force', name])).code).toBe(0);
    expect(await inventory(user, uri)).toEqual(before);
  });

  it('after the VM was powered off: rm finishes, says so, and exits 130', async () => {
    const name = scope.name('finish');
    await create(name, startedArgs());
    const run = runHooked(user, ['rm', '--force', name], 'rm:undefine');
    await run.marker('paused before rm:undefine');
    run.signal('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('finished removing it rather than leave half a VM');
    expect(r.stdout).toContain(`${name} removed`);
    expect(await inventory(user, uri)).toEqual(before);
  });
});

describe('the daemon killed during rm', () => {
  it('with the undefine in flight: rm reconnects and finishes', async () => {
    const name = scope.name('kill');
    await create(name, definedArgs());
    const run = runHooked(user, ['rm', name], 'rm:undefine');
    await run.marker('paused before rm:undefine');
    signalDaemons(user, 'SIGSTOP');
    run.resume();
    await run.marker('in rm:undefine');
    signalDaemons(user, 'SIGKILL');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(await inventory(user, uri)).toEqual(before);
  });
});

describe("a VM's disks come from its definition", () => {
  it('rm under another XDG_DATA_HOME still deletes the disk and seed, and the name is free again', async () => {
    const name = scope.name('xdg');
    await create(name, definedArgs());
    const other = { ...userEnv(user), XDG_DATA_HOME: join(user.home, 'elsewhere') };
    const r = await runAs(user, process.execPath, [CLI, 'rm', name], { env: other, check: false });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`deleted ${join(user.home, '.local/share/roost/pool', `${name}.qcow2`)}`);
    expect(await inventory(user, uri)).toEqual(before);
    await create(name, definedArgs());
    expect((await roost(user, ['rm', name])).code).toBe(0);
  });
});

describe('a create killed outright (SIGKILL: no rollback can run)', () => {
  it('leaves a disk that blocks the name with a clear message, and roost rm removes it', async () => {
    const name = scope.name('killed');
    const run = runHooked(user, ['create', name, ...definedArgs()], 'create:define');
    await run.marker('paused before create:define');
    run.signal('SIGKILL');
    await run.done;
    const blocked = await roost(user, ['create', name, ...definedArgs()]);
    expect(blocked.code, blocked.stderr).toBe(2);
    expect(blocked.stderr).toContain(`a VM named '${name}' already exists or is being created`);
    expect(blocked.stderr).toContain(`roost rm ${name}`);
    expectCleanMessage(blocked.stderr);
    const rm = await roost(user, ['rm', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain(`no VM named ${name}; removed what an interrupted create of it left`);
    expect(await inventory(user, uri)).toEqual(before);
    await create(name, definedArgs());
    expect((await roost(user, ['rm', name])).code).toBe(0);
  });
});
