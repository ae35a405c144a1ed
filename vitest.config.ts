import { defineConfig } from 'vitest/config';

// Five projects: fast unit tests beside the code, and integration tests that drive a real session daemon,
// real QEMU and real passt as the unprivileged test user (see test/harness/README.md), and browser tests
// (test/e2e, real Chromium) on the same harness; the hostile-input battery (test/security) on it too; and the
// Debian 13 host group (test/hosts), opt-in.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
          environment: 'node',
          // Projects run one group after another (unit, then integration, then e2e): TCG guests of two projects
          // at once on two cores would make every boot-time limit a coin toss.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          // test/faults: the fault-injection suite (Ctrl-C, a killed daemon, races at each step boundary) on the
          // same harness.
          include: ['test/integration/**/*.test.ts', 'test/faults/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 1 },
          globalSetup: ['test/harness/global-setup.ts'],
          // Guests boot under TCG: give hooks and tests room, and run files one at a time so two
          // files never fight over the same two cores or the same session daemon.
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 2 },
          globalSetup: ['test/harness/global-setup.ts'],
          // Real Chromium and a TCG guest on two shared cores: generous timeouts, one file at a time.
          testTimeout: 240_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // Hostile input through the built CLI and the API's UNIX socket (test/security/battery.ts): on the
          // integration harness, after the other projects; no guest boots, so no long timeouts.
          name: 'security',
          include: ['test/security/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 3 },
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // The second host (docs/testing.md): a Debian 13 root entered by scripts/test-host.sh, as root on the
          // host. Not part of a plain `vitest run`: only `--project hosts` or ROOST_TEST_HOSTS=1, which
          // scripts/npm-test.sh sets as root where namespaces work, so `npm test` runs it last.
          name: 'hosts',
          include:
            process.env.ROOST_TEST_HOSTS === '1' || process.argv.includes('hosts')
              ? ['test/hosts/**/*.test.ts']
              : [],
          environment: 'node',
          sequence: { groupOrder: 4 },
          // A cold build of the root (debootstrap + setup-host.sh) and a TCG boot inside it.
          testTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
