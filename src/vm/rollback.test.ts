import { describe, expect, it } from 'vitest';
import { ConnectionClosedError } from '../libvirt/errors.js';
import { describeRollback, Rollback, rollbackOf, withRollback } from './rollback.js';

describe('Rollback', () => {
  it('runs the undos last first and reports what it undid', async () => {
    const ran: string[] = [];
    const r = new Rollback();
    for (const what of ['disk', 'seed', 'VM'])
      r.add({ what, fix: `rm ${what}`, run: async () => ran.push(what) });
    const report = await r.run();
    expect(ran).toEqual(['VM', 'seed', 'disk']);
    expect(report).toEqual({ undone: ['VM', 'seed', 'disk'], left: [] });
    expect(r.empty).toBe(true);
  });

  it('goes on past an undo that fails and names what it left with the command that removes it', async () => {
    const r = new Rollback();
    r.add({ what: 'disk d', fix: 'virsh vol-delete d', run: async () => undefined });
    r.add({
      what: "VM 'x'",
      fix: 'roost rm --force x',
      run: () => Promise.reject(new Error('permission denied')),
    });
    const report = await r.run();
    expect(report.undone).toEqual(['disk d']);
    expect(report.left).toEqual([{ what: "VM 'x'", fix: 'roost rm --force x', why: 'permission denied' }]);
    expect(describeRollback(report)).toEqual([
      'rolled back: disk d',
      "left behind: VM 'x' (permission denied); remove with: roost rm --force x",
    ]);
  });

  it('does not claim to have undone what was never made', async () => {
    const r = new Rollback();
    r.add({ what: 'disk d', fix: 'roost rm x', run: async () => false });
    r.add({ what: 'seed s', fix: 'roost rm x', run: async () => undefined });
    expect((await r.run()).undone).toEqual(['seed s']);
  });

  it('names leftovers that one command removes on one line', async () => {
    const r = new Rollback();
    r.add({ what: 'disk d', fix: 'roost rm --force x', run: () => Promise.reject(new Error('busy')) });
    r.add({ what: "VM 'x'", fix: 'roost rm --force x', run: () => Promise.reject(new Error('busy')) });
    expect(describeRollback(await r.run())).toEqual([
      "left behind: VM 'x', disk d (busy); remove with: roost rm --force x",
    ]);
  });

  it('runs an undo again when the daemon went away under it (the client reconnects)', async () => {
    let calls = 0;
    const r = new Rollback();
    r.add({
      what: 'disk d',
      fix: 'virsh vol-delete d',
      run: async () => {
        if (++calls === 1) throw new ConnectionClosedError('the libvirt daemon closed the connection');
      },
    });
    expect((await r.run()).undone).toEqual(['disk d']);
    expect(calls).toBe(2);
  });

  it('stops undoing once told to (a second Ctrl-C) and lists the rest as left', async () => {
    const stop = new AbortController();
    const r = new Rollback();
    r.add({ what: 'disk d', fix: 'virsh vol-delete d', run: async () => undefined });
    r.add({ what: "VM 'x'", fix: 'roost rm --force x', run: async () => stop.abort('SIGINT') });
    const report = await r.run(stop.signal);
    expect(report.undone).toEqual(["VM 'x'"]);
    expect(report.left).toEqual([
      { what: 'disk d', fix: 'virsh vol-delete d', why: 'the rollback was interrupted' },
    ]);
  });

  it('travels with the error that caused it, which keeps its own identity', () => {
    const err = new Error('boom');
    const report = { undone: ['disk d'], left: [] };
    expect(withRollback(err, report)).toBe(err);
    expect(rollbackOf(err)).toBe(report);
    expect(rollbackOf(new Error('other'))).toBeUndefined();
  });
});
