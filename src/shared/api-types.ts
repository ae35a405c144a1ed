// Every shape roost's API speaks — `--json` output, the REST API, the event stream, errors — by topic in the
// modules beside this one, none of which imports anything but its siblings: the Node side (src/) and the browser
// (web/) use the very same contract and cannot drift. Each shape is built in one place; docs/cli-json.md and
// docs/api.md show them, and contract.test.ts holds every JSON example there to them.
export type * from './declarative.js';
export type * from './errors.js';
export { errorBody } from './errors.js';
export type * from './events.js';
export type * from './files.js';
export type * from './host.js';
export type * from './mounts.js';
export type * from './hosts.js';
export type * from './ports.js';
export type * from './state.js';
export type * from './stats.js';
export type * from './vms.js';
export type * from './web.js';
