import { readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run } from './ssh.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('roost ssh: running ssh', () => {
  it('passes a SIGTERM sent to roost on to its ssh, and ends with 255', async () => {
    const before = process.listenerCount('SIGTERM');
    // A stand-in for ssh that would outlive roost: it writes its pid, then waits.
    const pidFile = `/tmp/roost-ssh-run-${process.pid}`;
    const running = run(['sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`]);
    let pid = 0;
    for (let i = 0; i < 200 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 10));
      pid = Number(readFileSync(pidFile, { encoding: 'utf8', flag: 'a+' }).trim());
    }
    expect(pid).toBeGreaterThan(0);
    process.kill(process.pid, 'SIGTERM');
    expect(await running).toBe(255);
    expect(alive(pid)).toBe(false);
    // Nothing of it stays behind: a later SIGTERM is the process's own business again.
    expect(process.listenerCount('SIGTERM')).toBe(before);
    rmSync(pidFile, { force: true });
  });

  it('returns the command’s own exit code', async () => {
    expect(await run(['sh', '-c', 'exit 3'])).toBe(3);
  });
});
