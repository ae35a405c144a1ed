// The benchmarks' command-line options: `--name value` pairs after the script's path.
const args = process.argv.slice(2);

/** The value after `--name`, or `dflt` when the option (or its value) is missing. */
export function option(name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

/** Whether the flag `--name` was given. */
export function flag(name: string): boolean {
  return args.includes(`--${name}`);
}

/** Whether a part of a benchmark runs: `--only a,b` runs just those, `--skip a,b` all but those. */
export function selected(part: string): boolean {
  return isSelected(part, option('only', ''), option('skip', ''));
}

/** Whether `--only` picked some parts: a probe of those, not a run whose report replaces the last one. */
export function onlySome(): boolean {
  return option('only', '') !== '';
}

/** `selected` on the option values themselves (comma-separated part names; empty: not given). */
export function isSelected(part: string, only: string, skip: string): boolean {
  const names = (list: string) =>
    list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (only && !names(only).includes(part)) return false;
  return !names(skip).includes(part);
}
