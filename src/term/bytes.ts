// Byte counts for people (1.5 MiB). A leaf with no imports: commands that only print a size must not load the
// progress-bar library (cli-progress loads node:readline) at every start of the CLI.

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}
