// The shape of a user's cloud-config for the keys roost merges into or cloud-init acts on at first boot. A
// wrong shape is refused before anything is made: `users: 7` would otherwise replace the list roost's login user
// is in (merge: lists concatenate, anything else replaces), and `runcmd: 42` would only fail inside the guest,
// in a log nobody reads. Other keys are cloud-init's business and pass as they are.
// Loaded only for a `--cloud-init FILE` (zod is not needed for any other create).
import * as z from 'zod';
import { UsageError } from '../errors.js';

/** A YAML scalar in a command or mount line: cloud-init turns numbers and booleans into words. */
const word = z.union([z.string(), z.number(), z.boolean()]);
const command = z.union([z.string(), z.array(word)]);

/** What each checked key must be, in the words of the error message. */
const KEYS = {
  hostname: { schema: z.string(), expected: 'a host name (a string)' },
  fqdn: { schema: z.string(), expected: 'a domain name (a string)' },
  manage_etc_hosts: {
    schema: z.union([z.boolean(), z.enum(['localhost', 'template'])]),
    expected: 'true, false, localhost or template',
  },
  ssh_pwauth: { schema: z.union([z.boolean(), z.string()]), expected: 'true or false' },
  users: {
    schema: z.array(z.union([z.string(), z.looseObject({ name: z.string().min(1) })])),
    expected: 'a list of users, each a name or a mapping with name: (roost adds its login user to this list)',
  },
  groups: {
    schema: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])),
    expected: 'a list of group names',
  },
  ssh_authorized_keys: { schema: z.array(z.string()), expected: 'a list of public keys (strings)' },
  runcmd: {
    schema: z.array(z.union([command, z.null()])),
    expected: 'a list of commands, each a string or a list of words',
  },
  bootcmd: {
    schema: z.array(z.union([command, z.null()])),
    expected: 'a list of commands, each a string or a list of words',
  },
  packages: {
    schema: z.array(z.union([z.string(), z.array(word)])),
    expected: 'a list of package names (or [name, version] pairs)',
  },
  write_files: {
    schema: z.array(
      z.looseObject({
        path: z.string().min(1),
        content: z.string().optional(),
        permissions: z.union([z.string(), z.number()]).optional(),
        owner: z.string().optional(),
        encoding: z.string().optional(),
        append: z.boolean().optional(),
        defer: z.boolean().optional(),
      }),
    ),
    expected: 'a list of files, each a mapping with path: and content: (strings)',
  },
  mounts: {
    schema: z.array(z.union([z.array(z.union([word, z.null()])), z.null()])),
    expected: 'a list of mount entries, each a list of fields like [/dev/vdb, /mnt, auto, defaults]',
  },
} as const;

/** The line of the YAML node at a path (e.g. ['users', 1, 'name']), or of its nearest parent that exists. */
export type Locate = (path: readonly PropertyKey[]) => number | undefined;

/** Throws a UsageError for the first key whose value has the wrong shape, naming it and its line. */
export function checkCloudConfigShape(config: Record<string, unknown>, source: string, locate: Locate): void {
  for (const [key, rule] of Object.entries(KEYS)) {
    if (!(key in config)) continue;
    const result = (rule.schema as z.ZodType).safeParse(config[key]);
    if (result.success) continue;
    const path = [key, ...deepestPath(result.error.issues[0]!)];
    const inside = path.length > 1;
    const line = locate(path);
    const where = line === undefined ? source : `${source}:${line}`;
    const value = valueAt(config, path);
    throw new UsageError(
      'CLOUD_INIT_INVALID',
      `${where}: '${pathText(path)}' ${inside ? `is ${describe(value)}: '${key}' must be` : `is ${describe(value)}, it must be`} ${rule.expected}`,
      {
        hint: `fix ${source}; cloud-init's reference: https://cloudinit.readthedocs.io/en/latest/reference/modules.html`,
      },
    );
  }
}

/**
 * Where an issue is: for a value that matches no branch of a union (a user that is neither a name nor a mapping
 * with a name), the deepest place a branch got to — `users[1].name` rather than `users[1]`.
 */
function deepestPath(issue: z.core.$ZodIssue): PropertyKey[] {
  const here = [...issue.path];
  if (issue.code !== 'invalid_union') return here;
  let best: PropertyKey[] = [];
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    const p = deepestPath(first);
    if (p.length > best.length) best = p;
  }
  return [...here, ...best];
}

function valueAt(config: unknown, path: readonly PropertyKey[]): unknown {
  let v = config;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`))
    .join('');
}

function describe(v: unknown): string {
  if (v === null) return 'empty';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v === 'number' ? 'the number' : 'the value'} ${String(v)}`;
}
