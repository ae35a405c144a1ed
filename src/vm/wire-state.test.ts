// The snapshot, clone and autostart answers are built here once for the CLI and the API: each parses, strictly,
// as its shape in src/shared/state.ts (a field of the use case's own result never leaks, none is missing).
import { describe, expect, it } from 'vitest';
import { parsePortForward } from '../net/port-spec.js';
import {
  AutostartDisabled,
  AutostartEnabled,
  AutostartList,
  ClonedVm,
  CreatedSnapshot,
  RemovedSnapshot,
  RevertedSnapshot,
  SnapshotList,
} from '../shared/testing.js';
import type { CloneResult } from './clone.js';
import type { CreateSnapshotResult } from './snapshot.js';
import {
  autostartDisabled,
  autostartEnabled,
  autostartList,
  clonedVm,
  createdSnapshot,
  removedSnapshot,
  revertedSnapshot,
  snapshotList,
} from './wire-state.js';

const snap = {
  name: 's1',
  description: null,
  createdAt: '2026-12-01T09:12:40.000Z',
  state: 'running',
  parent: null,
  kind: 'external' as const,
  memory: true,
  current: true,
};

describe('snapshot answers', () => {
  it('list, create, revert and rm parse as their shapes', () => {
    expect(SnapshotList.parse(snapshotList({ name: 'web', current: 's1', snapshots: [snap] }))).toEqual({
      name: 'web',
      current: 's1',
      snapshots: [snap],
    });
    const made: CreateSnapshotResult = { vm: 'web', ...snap, kindReason: 'uefi', quiesced: false };
    expect(CreatedSnapshot.parse(createdSnapshot(made))).toEqual(made);
    const reverted = { vm: 'web', snapshot: 's1', running: true };
    expect(RevertedSnapshot.parse(revertedSnapshot(reverted))).toEqual(reverted);
    expect(RemovedSnapshot.parse(removedSnapshot({ vm: 'web', snapshot: 's1' }))).toEqual({
      vm: 'web',
      snapshot: 's1',
    });
  });

  it("leaves a use case's extra field off the wire", () => {
    const extra = { ...snap, xml: '<domainsnapshot/>' };
    expect(SnapshotList.parse(snapshotList({ name: 'web', current: null, snapshots: [extra] }))).toBeTruthy();
  });
});

describe('clonedVm', () => {
  it('formats the forwards as ls does and leaves the seed path off', () => {
    const chosen = parsePortForward('127.0.0.1:8081:80');
    const r: CloneResult = {
      name: 'web2',
      source: 'web',
      uuid: 'u',
      linked: false,
      disks: ['/pool/web2.qcow2'],
      ports: [parsePortForward('127.0.0.1:2223:22'), chosen],
      chosenPorts: [chosen],
      stoppedSource: false,
      seed: '/seeds/web2.iso',
      warnings: ['w'],
    };
    expect(ClonedVm.parse(clonedVm(r))).toEqual({
      name: 'web2',
      source: 'web',
      uuid: 'u',
      linked: false,
      state: 'shutoff',
      disks: ['/pool/web2.qcow2'],
      ports: ['127.0.0.1:2223:22/tcp', '127.0.0.1:8081:80/tcp'],
      chosenPorts: ['127.0.0.1:8081:80/tcp'],
      stoppedSource: false,
      sshUser: null,
      warnings: ['w'],
    });
  });
});

describe('autostart answers', () => {
  it('say null for a linger command not needed, and list the VMs sorted', () => {
    const on = autostartEnabled({ name: 'web', unit: 'u', path: '/p', atBoot: false, warnings: [] });
    expect(AutostartEnabled.parse(on).lingerCommand).toBeNull();
    expect(AutostartDisabled.parse(autostartDisabled({ name: 'web', removed: false }))).toEqual({
      name: 'web',
      removed: false,
    });
    const sd = { installed: true, running: false, userManager: false, linger: true };
    expect(AutostartList.parse(autostartList(new Set(['b', 'a']), sd))).toEqual({
      vms: ['a', 'b'],
      systemd: sd,
    });
  });
});
