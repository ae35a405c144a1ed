// Every request's shape, checked with zod before a use case sees it. Imported through validate.ts on the first
// request that has a body or parameters to check: a server that only streams events never loads zod.
import { z } from 'zod';

const Name = z.string().min(1).max(255);
/** CPU counts and sizes: the CLI's text ("2G") or a number (taken as the CLI takes a bare number). */
const NumberOrText = z.union([z.string().max(32), z.number().nonnegative()]).transform(String);
const Path = z.string().min(1).max(4096);
/** ?force, ?force=1, ?force=true */
const Flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === '');
const Apply = z.enum(['auto', 'now', 'next-start']).optional();
const Ref = z.string().min(1).max(200);

export const NameParams = z.strictObject({ name: Name });

export const CreateBody = z.strictObject({
  name: Name,
  image: Path.optional(),
  iso: Path.optional(),
  kernel: Path.optional(),
  initrd: Path.optional(),
  cmdline: z.string().max(4096).optional(),
  memory: NumberOrText.optional(),
  cpus: NumberOrText.optional(),
  disk: NumberOrText.optional(),
  ports: z.array(z.string().max(100)).max(64).optional(),
  network: z.union([z.string().max(100), z.array(z.string().max(100)).max(8)]).optional(),
  accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
  firmware: z.enum(['uefi', 'bios']).optional(),
  sshUser: z.string().max(64).optional(),
  sshKey: Path.optional(),
  start: z.boolean().optional(),
});

export const EditBody = z.strictObject({ cpus: NumberOrText.optional(), memory: NumberOrText.optional() });

export const StopBody = z.strictObject({
  force: z.boolean().optional(),
  timeout: z.number().int().min(1).max(86_400).optional(),
});

export const DeleteQuery = z.object({ force: Flag, keepStorage: Flag });

export const PortBody = z.strictObject({
  specs: z.array(z.string().min(1).max(100)).min(1).max(64),
  apply: Apply,
});
export const PortParams = z.strictObject({ name: Name, spec: z.string().min(1).max(100) });
export const ApplyQuery = z.object({ apply: Apply });

export const ConsoleQuery = z.object({ force: Flag });

export const PullBody = z.strictObject({ ref: Ref });
export const RefParams = z.strictObject({ ref: Ref });
export const ForceQuery = z.object({ force: Flag });
