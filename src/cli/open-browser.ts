// Opening something in the user's browser (`roost web --open`): the commands in $BROWSER when it is set — the
// convention git, xdg-utils and Python's webbrowser share: ':'-separated commands, `%s` where the URL goes, else
// the URL last — and otherwise xdg-open, which asks the desktop. The browser outlives roost: it is detached.
// Whatever is passed here lands in the browser's argv, which every local user can read in /proc: never a
// secret. roost web passes the path of a private file that forwards to the login link.
import { spawn } from 'node:child_process';

/** The commands to try, in order, each as argv with the URL in place. */
export function browserCommands(url: string, env: NodeJS.ProcessEnv): string[][] {
  const configured = (env.BROWSER ?? '')
    .split(':')
    .map((c) => c.trim())
    .filter(Boolean);
  return [...configured, 'xdg-open'].map((c) => {
    const words = c.split(/\s+/);
    return words.some((w) => w.includes('%s')) ? words.map((w) => w.replaceAll('%s', url)) : [...words, url];
  });
}

/**
 * Starts the first command that exists; resolves with its name, or rejects when none could be started. A browser
 * may run for hours, so success cannot wait for its exit; a failure can still show up later as a non-zero exit
 * (xdg-open without a desktop or a text browser exits 3): `onFailure` hears of it.
 */
export async function openBrowser(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
  onFailure: (message: string) => void = () => {},
): Promise<string> {
  const tried: string[] = [];
  for (const [cmd, ...args] of browserCommands(url, env)) {
    const started = await new Promise<boolean>((resolve) => {
      const child = spawn(cmd!, args, { detached: true, stdio: 'ignore', env });
      child.once('spawn', () => {
        child.unref();
        child.once('exit', (code) => {
          if (code !== 0 && code !== null) onFailure(`${cmd} could not open the link (exit status ${code})`);
        });
        resolve(true);
      });
      child.once('error', () => resolve(false));
    });
    if (started) return cmd!;
    tried.push(cmd!);
  }
  throw new Error(`no browser could be started (tried ${tried.join(', ')}; set $BROWSER)`);
}
