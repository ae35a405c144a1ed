// The demo VM: the tiny guest as a session VM of the current (unprivileged) user, made with `roost create`, with
// a passt port forward 127.0.0.1:18080 → guest port 80. Run through `npm run demo` (scripts/demo.sh), which
// installs and builds what this needs first.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = process.env.ROOST_DEMO_NAME ?? 'demo';
const PORT = Number(process.env.ROOST_DEMO_PORT ?? 18080);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');

function fail(message: string): never {
  console.error(`demo: ${message}`);
  process.exit(1);
}

/** Runs the built roost CLI, showing its output as it goes; returns its stdout when `capture`. */
function roost(args: string[], capture = false): { code: number; stdout: string } {
  console.log(`$ roost ${args.map((a) => (/[\s'"]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], {
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? '' };
}

function tinyGuest(): { dir: string; kernel: string; initrd: string; cmdline: string } {
  const dir = process.env.ROOST_TEST_GUESTS_DIR ?? join(homedir(), '.cache', 'roost', 'test-guests');
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) fail(`no tiny guest in ${dir}: run 'npm run demo' (it builds one)`);
  const tiny = JSON.parse(readFileSync(file, 'utf8')).tiny;
  if (!tiny) fail(`${file} has no tiny guest: run 'npm run fixtures -- --only tiny'`);
  return tiny;
}

if (userInfo().uid === 0)
  fail('run through `npm run demo`: as root it switches to an unprivileged user first');
const guest = tinyGuest();

// An earlier demo VM is replaced; any other VM of that name is left alone.
const existing = spawnSync(process.execPath, [CLI, 'info', NAME, '--json'], { encoding: 'utf8' });
if (existing.status === 0) {
  const info = JSON.parse(existing.stdout) as { boot: string };
  if (!info.boot.includes(dirname(guest.kernel).replace(/-[0-9a-f]+$/, ''))) {
    fail(`a VM named '${NAME}' exists and is not the demo's; remove it or set ROOST_DEMO_NAME=another-name`);
  }
  if (roost(['rm', '--force', NAME]).code !== 0) fail(`could not remove the earlier demo VM '${NAME}'`);
}

const created = roost([
  'create',
  NAME,
  '--kernel',
  guest.kernel,
  '--initrd',
  guest.initrd,
  '--cmdline',
  guest.cmdline,
  '--memory',
  '256M',
  '--cpus',
  '1',
  '--port',
  `127.0.0.1:${PORT}:80`,
  '--wait',
  'port:80',
]);
if (created.code !== 0) fail(`roost create failed (exit ${created.code}); see the message above`);
roost(['ls']);

const page = await fetch(`http://127.0.0.1:${PORT}/`).then((r) => r.text());
const title = /<h1>([^<]*)<\/h1>/.exec(page)?.[1] ?? '(no title)';
const who = userInfo().username;
const asUser = process.env.ROOST_DEMO_AS_ROOT
  ? `runuser -u ${who} -- env XDG_RUNTIME_DIR=${process.env.XDG_RUNTIME_DIR} `
  : '';
console.log(`
demo: the page answers: '${title}'

  URL:        http://127.0.0.1:${PORT}/
  VM:         ${NAME} (session VM of ${who}; passt forwards 127.0.0.1:${PORT} → guest :80)
  see it:     ${asUser}virsh -c qemu:///session list --all
  roost:      ${asUser}node ${CLI} info ${NAME}
  console:    ${asUser}node ${CLI} console ${NAME}     (Ctrl-] to leave)
  remove it:  ${asUser}node ${CLI} rm --force ${NAME}
`);
