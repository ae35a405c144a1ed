import { describe, expect, it } from 'vitest';
import { bootSshSection, plainSshArgs, type BootSshResult } from './boot-ssh.js';

const result = (lagMs: number): BootSshResult => ({
  rounds: 2,
  roost: [
    {
      bannerMs: 50_000,
      cloudInitFinishedMs: 60_000,
      readyMs: 60_000 + lagMs,
      exitMs: 60_100 + lagMs,
      waitedMs: 59_000,
    },
    {
      bannerMs: 52_000,
      cloudInitFinishedMs: 62_000,
      readyMs: 62_000 + lagMs,
      exitMs: 62_100 + lagMs,
      waitedMs: 61_000,
    },
  ],
  baseline: [
    { bannerMs: 61_000, definedMs: 1_500, loginMs: 62_000, cloudInitMs: 64_000 },
    { bannerMs: 63_000, definedMs: 1_600, loginMs: 64_000, cloudInitMs: 66_000 },
  ],
});

const rowOf = (md: string, start: string) => md.split('\n').find((l) => l.startsWith(start)) ?? '';

describe('bootSshSection', () => {
  it("reports the latency per boot (ready minus cloud-init's final message) against the target", () => {
    const ok = bootSshSection(result(200));
    expect(rowOf(ok, '| readiness after the guest is ready')).toMatch(
      /\*\*200 ms\*\* \| ≤ 250 ms \| yes \|$/,
    );
    const late = bootSshSection(result(3_000));
    expect(rowOf(late, '| readiness after the guest is ready')).toMatch(
      /\*\*3000 ms\*\* \| ≤ 250 ms \| \*\*no\*\* \|$/,
    );
    // The banner came 10 s before cloud-init's end: shown, not judged.
    expect(rowOf(ok, "| for comparison: after the guest's sshd")).toMatch(/^\| [^|]+\| 10200 <sub>/);
  });

  it('gives the ratio as the baseline time over roost time (above 1: roost is faster)', () => {
    // roost ready at 61.2 s (median), the loop's first login at 63 s.
    expect(rowOf(bootSshSection(result(200)), '| Debian guest')).toContain(
      `**${(63 / 61.2).toFixed(2)}×** faster`,
    );
  });
});

describe('plainSshArgs', () => {
  it('never prompts, and logs in as the user on the forwarded port with the key it is given', () => {
    const args = plainSshArgs('debian', 2222, '/home/u/bench/.ssh/id_ed25519');
    expect(args).toContain('BatchMode=yes');
    // ssh takes ~/.ssh from the passwd entry, not $HOME: the bench's private home needs the key named.
    expect(args.slice(0, 4)).toEqual(['-i', '/home/u/bench/.ssh/id_ed25519', '-o', 'IdentitiesOnly=yes']);
    expect(args.slice(-3)).toEqual(['-p', '2222', 'debian@127.0.0.1']);
  });
});
