// The shape every host check produces: what `roost doctor` prints and what `--json` returns (docs/doctor.md).
// A leaf module: no imports, so the CLI and the web console can share it without pulling in the checks.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable identifier, e.g. 'libvirt-passt'. */
  id: string;
  /** What is checked, for humans: 'libvirt accepts passt'. */
  title: string;
  /** ok = fine; warn = works, but something is missing or slow (optional features); fail = roost cannot work. */
  status: CheckStatus;
  /** One line: what was found, and why it matters when it is not ok. */
  detail: string;
  /** The exact shell command(s) that fix it, one per line, run in order; only on warn/fail with a known fix. */
  fix?: string;
}

export interface DoctorReport {
  checks: CheckResult[];
  /** True when no check failed (warnings allowed). */
  ok: boolean;
}
