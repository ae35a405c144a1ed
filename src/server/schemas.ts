// Every request's shape, checked with zod before a use case sees it. Imported through validate.ts on the first
// request that has a body or parameters to check: a server that only streams events never loads zod.
import * as z from 'zod';
import {
  hasUnsafeChars,
  LOGIN_NAME_PATTERN,
  MAX_CLOUD_CONFIG_BYTES,
  MAX_VM_REF_LENGTH,
  VM_NAME_PATTERN,
} from '../vm/input.js';

/** Text without control or invisible formatting characters: it ends up in messages, files and XML. */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !hasUnsafeChars(v), 'must not contain control characters');
/** A VM to look up: any name libvirt could have given it, but never a path (`%2F` arrives here as '/'). */
const Name = Text(MAX_VM_REF_LENGTH)
  .min(1)
  .refine((v) => !v.includes('/'), "a VM name has no '/'");
/** A new VM's name: as the CLI's (src/vm/input.ts), safe as a file name, URL part and ssh host alias. */
const NewName = z
  .string()
  .regex(VM_NAME_PATTERN, "1–63 letters, digits, '.', '_' or '-', starting with a letter or digit");
/** CPU counts and sizes: the CLI's text ("2G") or a number (taken as the CLI takes a bare number). */
const NumberOrText = z.union([z.string().max(32), z.number().nonnegative()]).transform(String);
const Path = Text(4096).min(1);
/** A cloud-config document: YAML lines (newlines and tabs), no other control characters. */
const CloudConfigText = z
  .string()
  .max(MAX_CLOUD_CONFIG_BYTES)
  .refine((v) => !hasUnsafeChars(v.replace(/\r?\n|\t/g, ' ')), 'must not contain control characters');
/** ?force, ?force=1, ?force=true */
const Flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === '');
const Apply = z.enum(['auto', 'now', 'next-start']).optional();
/** A catalogue or cached image name: a word, never a path (it names files in the image store). */
const Ref = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}$/, 'an image name: letters, digits, . _ : @ + -');

export const NameParams = z.strictObject({ name: Name });

export const CreateBody = z.strictObject({
  name: NewName,
  image: Path.optional(),
  iso: Path.optional(),
  kernel: Path.optional(),
  initrd: Path.optional(),
  cmdline: Text(4096).optional(),
  memory: NumberOrText.optional(),
  cpus: NumberOrText.optional(),
  disk: NumberOrText.optional(),
  ports: z.array(Text(100)).max(64).optional(),
  network: z.union([Text(100), z.array(Text(100)).max(8)]).optional(),
  accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
  firmware: z.enum(['uefi', 'bios']).optional(),
  sshUser: z.string().regex(LOGIN_NAME_PATTERN, 'a login name: lowercase letters, digits, _ -').optional(),
  sshKey: Path.optional(),
  cloudConfig: CloudConfigText.optional(),
  start: z.boolean().optional(),
});

export const EditBody = z.strictObject({ cpus: NumberOrText.optional(), memory: NumberOrText.optional() });

export const StopBody = z.strictObject({
  force: z.boolean().optional(),
  timeout: z.number().int().min(1).max(86_400).optional(),
});

export const DeleteQuery = z.object({ force: Flag, keepStorage: Flag });

export const PortBody = z.strictObject({
  specs: z.array(Text(100).min(1)).min(1).max(64),
  apply: Apply,
});
export const PortParams = z.strictObject({ name: Name, spec: Text(100).min(1) });
export const ApplyQuery = z.object({ apply: Apply });

export const LogsQuery = z.object({ kind: z.enum(['serial', 'qemu']).default('serial') });
/**
 * A pasted VM file (POST /api/apply). Its size is held to the CLI's limit for a file by the parser (and the
 * route's body limit); its content is checked there as `roost apply` checks a file. No `prune`: see docs/web.md.
 */
export const ApplyBody = z.strictObject({ yaml: z.string().min(1), dryRun: z.boolean().optional() });

export const ConsoleQuery = z.object({ force: Flag });

export const PullBody = z.strictObject({ ref: Ref });
export const RefParams = z.strictObject({ ref: Ref });
export const ForceQuery = z.object({ force: Flag });
