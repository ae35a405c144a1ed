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
