import { describe, expect, it } from 'vitest';
import type { Domain } from '../libvirt/types.js';
import { qemuRunDir, strayProcesses, type VmProcess } from './leftovers.js';

const run = '/run/user/1000/libvirt/qemu/run';
const dom = (name: string, id: number): Domain => ({ name, id, uuid: Buffer.alloc(16) });

describe('strayProcesses', () => {
  const procs: VmProcess[] = [
    { pid: 10, kind: 'passt', file: `${run}/passt/3-web-net0.socket` },
    { pid: 11, kind: 'passt', file: `${run}/passt/4-a-very-long-vm-name--net0.socket` },
    { pid: 12, kind: 'passt', file: `${run}/passt/5-gone-net0.socket` },
    { pid: 13, kind: 'qemu', file: `${run}/web.pid` },
    { pid: 14, kind: 'qemu', file: `${run}/gone.pid` },
  ];

  it("keeps what a running domain owns (passt by libvirt's short name, QEMU by pid file) and ends the rest", () => {
    const running = [dom('web', 3), dom('a-very-long-vm-name-of-mine', 4)];
    expect(strayProcesses(procs, running).map((p) => p.pid)).toEqual([12, 14]);
  });

  it('tells a passt of a dead VM from a running one whose name starts the same, by the domain id', () => {
    expect(strayProcesses(procs.slice(0, 1), [dom('web', 7)]).map((p) => p.pid)).toEqual([10]);
  });
});

describe('qemuRunDir', () => {
  it("is libvirt's session run directory for a local session, and nothing elsewhere", () => {
    const env = { XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/me' };
    expect(qemuRunDir({ uri: 'qemu:///session', env })).toBe(run);
    expect(qemuRunDir({ uri: 'qemu:///system', env })).toBeUndefined();
    expect(qemuRunDir({ uri: 'qemu+ssh://host/session', env })).toBeUndefined();
  });
});
