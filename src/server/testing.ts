// Test support for the server's unit tests; not part of roost (the build leaves testing.ts files out).
import { createHostFeeds, type HostFeeds } from './host-feeds.js';

/** Host feeds over an empty host list: for tests of routes that do not follow other hosts. */
export function noHostFeeds(): HostFeeds {
  return createHostFeeds({ hosts: async () => [], open: () => Promise.reject(new Error('no hosts here')) });
}
