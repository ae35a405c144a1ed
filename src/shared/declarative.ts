// The answers of the declarative commands: `roost apply --json` (the plan, and what became of each VM),
// `roost template ls --json`, and the web console's VM file (GET /api/vms/:name/export, POST /api/apply). Built in src/vm/apply-wire.ts; shown in docs/cli-json.md.

/** When a change takes effect: at once on the running VM, or when the VM next starts. */
export type ApplyWhen = 'live' | 'next-start';

/** One field that differs between the file and the VM. */
export interface ApplyChange {
  field: string;
  /** The VM's value now, as text ('2048 MiB', '127.0.0.1:8080:80/tcp'); null when it has none. */
  from: string | null;
  to: string | null;
  when: ApplyWhen;
}

/**
 * What apply did to one VM. 'planned': --dry-run, or a step not reached; 'as-asked': the VM is as the file says;
 * 'as-it-was': the step failed and what it had done was undone; 'partly': the undo failed too (error says what).
 */
export type ApplyOutcome = 'planned' | 'as-asked' | 'as-it-was' | 'partly';

export interface ApplyVm {
  name: string;
  /** The file (absolute path) that describes the VM; for 'remove', the file it was applied from. */
  file: string;
  action: 'create' | 'change' | 'unchanged' | 'remove';
  changes: ApplyChange[];
  /** What the file asks that apply does not change in an existing VM (image, firmware, networks, cloud-init). */
  notes: string[];
  outcome: ApplyOutcome;
  /** Why the VM's step failed; null when it did not. */
  error: string | null;
}

/** `roost apply --json`. */
export interface ApplyResult {
  files: string[];
  dryRun: boolean;
  vms: ApplyVm[];
  /** True when every VM is as its file asks (or, with --dry-run, when nothing would change). */
  ok: boolean;
}

/** One template of `roost template ls --json`. */
export interface TemplateInfo {
  name: string;
  /** 'shipped' (in roost's templates/) or 'user' (~/.config/roost/templates/). */
  source: 'shipped' | 'user';
  path: string;
  /** The image or kernel it boots, as its file names it. */
  boots: string;
}

/** GET /api/vms/:name/export: the VM file (`roost export NAME`), and what it could not carry. */
export interface ExportedFile {
  name: string;
  format: 'roost';
  /** The YAML that `roost apply` (or POST /api/apply) turns back into the VM. */
  text: string;
  /** What the file cannot describe (also in its first comments). */
  warnings: string[];
}

/** POST /api/apply: a pasted VM file. It has no directory, so every path in it is absolute (or ~/…). */
export interface ApplyRequest {
  yaml: string;
  /** Only the plan: nothing changed (the page asks this first, then applies on the user's confirmation). */
  dryRun?: boolean;
}
