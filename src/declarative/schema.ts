// The roost VM file (docs/apply.md): one YAML document per VM, several documents in a file separated by `---`,
// as kubectl reads manifests. The schema is defined here once; `roost schema` prints the JSON Schema made from it
// (docs/roost.schema.json), so editors complete and check the file. Values are kept as the user wrote them
// (sizes as text such as 2G, forwards as `roost port` specs): the create and edit use cases parse them with
// their own checks, so a file and the command line mean the same thing.
import * as z from 'zod';

/** The version a file may name (`roost: 1`); a later roost that reads a different meaning bumps it. */
export const FILE_VERSION = 1;

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
    error: "1–63 letters, digits, '.', '_' or '-', starting with a letter or digit",
  })
  .describe('the VM name');

const size = (what: string, example: string) =>
  z
    .union([
      z.string().regex(/^\s*\d+(\.\d+)?\s*[KMGTkmgt]?(i?B)?\s*$/, { error: `a size like ${example}` }),
      z.number().positive(),
    ])
    .describe(`${what}, e.g. ${example} (a plain number is in ${example.endsWith('M') ? 'MiB' : 'GiB'})`);

const path = (what: string) => z.string().min(1).max(4096).describe(what);

const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { error: '64 lowercase hexadecimal digits' })
  .describe("the image file's SHA-256: apply refuses an image that differs");

const image = z
  .union([
    z.string().min(1).max(4096),
    z.strictObject({
      ref: z.string().min(1).max(4096).describe('a catalogue name or a path'),
      sha256: sha256.optional(),
    }),
  ])
  .describe(
    'what the disk starts from: a catalogue name (roost image ls) or an image file; or {ref, sha256}',
  );

const kernel = z
  .strictObject({
    path: path('the kernel file QEMU boots directly'),
    initrd: path('its initrd').optional(),
    cmdline: z.string().max(4096).optional().describe('the kernel command line'),
  })
  .describe('direct kernel boot (no bootloader), as roost create --kernel');

const network = z
  .string()
  .regex(/^(user|bridge=[A-Za-z0-9_.-]{1,15})$/, { error: "'user' or 'bridge=NAME'" })
  .describe("'user' (passt: forwarded ports) or 'bridge=NAME'");

const port = z
  .string()
  .min(1)
  .max(200)
  .describe("a forward as roost port add takes it: '8080:80', '127.0.0.1:2222:22', '5353:53/udp'");

const mount = z
  .strictObject({
    host: path('the host directory to share (relative to the file; ~/ is your home)'),
    guest: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe('where the guest mounts it: an absolute path (default: the host path)'),
    readOnly: z.boolean().optional().describe('the guest may only read it (default false)'),
  })
  .describe('a shared folder, as roost create --mount HOSTDIR[:GUESTDIR][:ro] (docs/files.md)');

const cloudInit = z
  .strictObject({
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: 'a login name (lowercase letters, digits, _ and -)' })
      .optional()
      .describe("the login user cloud-init creates (default: the image's usual user)"),
    sshKey: path("an ssh key (private or .pub) to authorise; default: roost's own key").optional(),
    packages: z
      .array(z.string().min(1).max(200))
      .max(1000)
      .optional()
      .describe('packages to install at first boot'),
    runcmd: z
      .array(z.union([z.string(), z.array(z.string())]))
      .max(1000)
      .optional()
      .describe('commands to run once at first boot'),
    userData: z
      .string()
      .max(1024 ** 2)
      .optional()
      .describe("a #cloud-config of your own, merged over roost's (lists add, other values replace)"),
  })
  .describe('what cloud-init does at first boot (images only)');

/** One VM as the file describes it. Every field but the name is optional: create's defaults apply. */
export const VmSpecSchema = z
  .strictObject({
    roost: z.literal(FILE_VERSION).optional().describe('the file format version (1)'),
    name,
    image: image.optional(),
    kernel: kernel.optional(),
    cpus: z.number().int().min(1).max(512).optional().describe('virtual CPUs'),
    memory: size('memory', '2G').optional(),
    disk: size('the main disk', '20G').optional(),
    firmware: z.enum(['uefi', 'bios']).optional().describe('uefi (images) or bios (direct kernel)'),
    networks: z.array(network).min(1).max(8).optional().describe("NICs in order; default ['user']"),
    ports: z.array(port).max(64).optional().describe('forwarded ports (needs a user network)'),
    autoPorts: z.boolean().optional().describe('forward the ports the guest listens on, automatically'),
    mounts: z
      .array(mount)
      .max(16)
      .optional()
      .describe('shared folders; a change takes effect at the next start'),
    autostart: z.boolean().optional().describe('start the VM when you log in (systemd user unit)'),
    cloudInit: cloudInit.optional(),
  })
  .describe('A roost VM (one YAML document per VM; see docs/apply.md)');

export type VmSpec = z.infer<typeof VmSpecSchema>;

/** The schema's field names, for the plan's and export's order. */
export const VM_FIELDS = Object.keys(VmSpecSchema.shape) as (keyof VmSpec)[];

/** The JSON Schema of one document (`roost schema`; docs/roost.schema.json is this, checked by a test). */
export function vmJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(VmSpecSchema, { target: 'draft-2020-12', io: 'input' }),
    $id: 'https://roost.dev/schema/vm-1.json',
    title: 'roost VM file',
  };
}
