import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests beside the code, and integration tests that drive a real session daemon,
// real QEMU and real passt as the unprivileged test user (see test/harness/README.md).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/global-setup.ts'],
          // Guests boot under TCG: give hooks and tests room, and run files one at a time so two
          // files never fight over the same two cores or the same session daemon.
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
