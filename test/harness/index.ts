// Everything an integration test needs. See README.md in this folder for a worked example.
import { inject } from 'vitest';
import type { HarnessContext } from './global-setup.js';

export type { HarnessContext } from './global-setup.js';
export { createScope, cleanupPrefix, type TestScope } from './scope.js';
export { createNetns, type Netns, type NetnsOptions } from './netns.js';
export {
  run,
  runAs,
  spawnOptionsFor,
  userEnv,
  CommandFailedError,
  type RunResult,
  type RunOptions,
} from './run.js';
export { virsh, domainNames, poolNames, volumeNames } from './virsh.js';
export {
  tinyGuest,
  debianCreateArgs,
  tinyCreateArgs,
  tinyVmDocument,
  debianGuest,
  debianImportArgs,
  readManifest,
  guestsDir,
  type TinyGuest,
  type DebianGuest,
} from './fixtures.js';
export { listProcesses, processesOf, uidOf, isAlive, waitUntil, type ProcessInfo } from './processes.js';
export {
  liveDaemonPid,
  startSessionDaemon,
  stopSessionDaemon,
  sessionSocketPath,
  sessionUri,
} from './daemon.js';
export { freePort, httpGet, tinyPageAnswers } from './net.js';
export { roost, roostJson, CLI, assertBuilt } from './cli.js';
export type { TestUser } from './test-user.js';

/** The shared context prepared by global setup: the test user, their daemon's URI and socket. */
export function harness(): HarnessContext {
  return inject('harness');
}
