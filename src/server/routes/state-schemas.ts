// The request shapes of the snapshot, clone and autostart routes (routes/state.ts), checked with zod before a use
// case sees them. Loaded on the first such request, as schemas.ts is: a server that never gets one never loads it.
import * as z from 'zod';
import { SNAPSHOT_NAME_PATTERN } from '../../vm/snapshot.js';
import { hasUnsafeChars, VM_NAME_PATTERN } from '../../vm/input.js';
import { NameParams } from '../schemas.js';

export { NameParams };

/** A snapshot's name becomes a file name in roost's pool: the CLI's rule (vm/snapshot.ts). */
const SnapName = z
  .string()
  .regex(SNAPSHOT_NAME_PATTERN, "1–63 letters, digits, '.', '_' or '-', starting with a letter or digit");
/** Text kept in the snapshot's XML: one line or several, no control characters but newlines and tabs. */
const Description = z
  .string()
  .max(4096)
  .refine((v) => !hasUnsafeChars(v.replace(/[\n\t]/g, ' ')), 'must not contain control characters');

export const SnapshotParams = z.strictObject({ name: NameParams.shape.name, snap: SnapName });

export const SnapshotBody = z.strictObject({
  /** Left out: named by the time, as the CLI does. */
  name: SnapName.optional(),
  description: Description.optional(),
  diskOnly: z.boolean().optional(),
  kind: z.enum(['internal', 'external']).optional(),
});

export const RevertBody = z.strictObject({ start: z.boolean().optional() });

export const CloneBody = z.strictObject({
  name: z
    .string()
    .regex(VM_NAME_PATTERN, "1–63 letters, digits, '.', '_' or '-', starting with a letter or digit"),
  linked: z.boolean().optional(),
  ports: z.array(z.string().min(1).max(100)).max(64).optional(),
  stop: z.boolean().optional(),
});

export const AutostartBody = z.strictObject({ atBoot: z.boolean().optional() });
