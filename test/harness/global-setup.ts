// Vitest global setup for the integration project: the test user, the guest fixtures and the user's session
// daemon, shared by every integration test file (they run one file at a time).
import type { TestProject } from 'vitest/node';
import { liveDaemonPid, startSessionDaemon, stopSessionDaemon } from './daemon.js';
import { ensureFixtures } from './build-fixtures.js';
import { cleanupPrefix } from './scope.js';
import { ensureTestUser, type TestUser } from './test-user.js';

export interface HarnessContext {
  user: TestUser;
  /** `qemu:///session?socket=…` of the test user's daemon: usable from root and from the user alike. */
  uri: string;
  socketPath: string;
  daemonPid: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    harness: HarnessContext;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const user = ensureTestUser();
  await ensureFixtures(user, ['tiny']);
  const daemon = await startSessionDaemon(user);
  project.provide('harness', { user, uri: daemon.uri, socketPath: daemon.socketPath, daemonPid: daemon.pid });
  return async () => {
    // A daemon that was already running belongs to someone else (another test run, a developer's shell): leave
    // it and its VMs alone. Our own scopes cleaned up after themselves either way.
    if (!daemon.startedHere) return;
    // This catches what a crashed test file left, so the next run starts clean.
    await cleanupPrefix(daemon.uri, 'rt-');
    // The one running now: a test that killed ours (test/faults) left the next one in its place.
    await stopSessionDaemon({ pid: liveDaemonPid(user) ?? daemon.pid });
  };
}
