/* global process, performance, console */
// The "cold script" case of bench/scale.ts: what a user's short script gets from `import { connect } from 'roost'`
// — the built package (dist/), a fresh process, no warm-up — looping lookupDomain + getState for SECONDS.
// bench/baselines/rpc.py's `cold` case does the same with python3-libvirt.
//
// Usage: node bench/cold.mjs URI DOMAIN SECONDS   → one JSON line { impl, case, ops, seconds, rate }
import { connect } from '../dist/index.js';

const [uri, domain, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const client = await connect(uri);
const start = performance.now();
const end = start + seconds * 1000;
let ops = 0;
let now = start;
while (now < end) {
  for (let i = 0; i < 16; i++) {
    const dom = await client.lookupDomain(domain);
    await client.getState(dom);
  }
  ops += 16;
  now = performance.now();
}
await client.close();
const s = (now - start) / 1000;
console.log(JSON.stringify({ impl: 'roost', case: 'cold', ops, seconds: s, rate: ops / s }));
