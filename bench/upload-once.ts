// One upload for bench/hosts.ts, run as the bench's local user: FILE into a new volume NAME of roost's pool on
// the host at URI, through uploadToPool (src/vm/remote.ts) — what `roost create` calls for a remote VM's image.
// Only that call is timed: the connection and the ask for the remote user's directories come first, untimed (a
// create makes them for its other steps anyway). The volume is deleted after. Prints {"ms":N} on stdout.
//
// Usage: node --import tsx bench/upload-once.ts URI FILE NAME
import { openContext } from '../src/vm/context.js';
import { remotePlace, uploadToPool } from '../src/vm/remote.js';
import { Rollback } from '../src/vm/rollback.js';

const [uri, file, name] = process.argv.slice(2);
if (!uri || !file || !name) throw new Error('usage: upload-once.ts URI FILE NAME');
const ctx = await openContext({ uri });
try {
  const place = await remotePlace(ctx);
  const t0 = performance.now();
  await uploadToPool(ctx, place, file, name, { rollback: new Rollback(), vm: name });
  const ms = performance.now() - t0;
  await ctx.client.deleteVolume(await ctx.client.lookupVolume(place.pool, name));
  console.log(JSON.stringify({ ms }));
} finally {
  await ctx.close();
}
