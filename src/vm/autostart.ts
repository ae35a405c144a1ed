// roost autostart on|off|ls: start a VM when its owner logs in (or, with lingering, when the host boots).
//
// libvirt's session connection has no autostart of its own that follows a login: its domain autostart flag only
// acts when the session daemon itself starts, and that happens on demand. So roost writes a systemd *user* unit
// per VM, ~/.config/systemd/user/roost-vm-NAME.service, that runs `roost start NAME` (which also starts the
// session daemon) and `roost stop NAME` when the user manager stops, and enables it the way
// `systemctl --user enable` does: a symlink in default.target.wants/. With `loginctl enable-linger USER` (root,
// once) the user manager — and so the VM — starts at boot without a login.
//
// The unit is a file roost owns: `off` and `roost rm` remove it; a file of that name roost did not write (no
// marker line) is never overwritten or removed. Every value that goes into the unit is checked for characters
// that would end a line or start a directive, and quoted the way systemd reads ExecStart arguments.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { RoostError, UsageError } from '../errors.js';
import { parseUri } from '../libvirt/uri.js';
import { cliEntryFile } from '../package-root.js';

/** The first line of every unit roost writes: how `off`, `ls` and `rm` recognise roost's own. */
export const UNIT_MARKER = '# Written by roost (roost autostart). Remove with: roost autostart off ';
const UNIT_PREFIX = 'roost-vm-';
const UNIT_SUFFIX = '.service';
/** systemd's target for a user manager's start-up (a login, or boot with lingering). */
const WANTED_BY = 'default.target';

export interface AutostartDirs {
  /** ~/.config/systemd/user (XDG_CONFIG_HOME respected, as systemd does). */
  units: string;
  /** …/default.target.wants: what `systemctl --user enable` links into. */
  wants: string;
}

export function autostartDirs(env: NodeJS.ProcessEnv = process.env): AutostartDirs {
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  const units = join(config, 'systemd', 'user');
  return { units, wants: join(units, `${WANTED_BY}.wants`) };
}

/**
 * The unit's name for a VM. roost's own names fit a unit name as they are; a VM named by virt-manager may hold
 * spaces or other characters a unit name cannot, and those are written as \xHH (UTF-8 bytes), the way
 * systemd-escape writes them, so every VM name gets one unit name and it can be read back.
 */
export function unitNameOf(vm: string): string {
  let out = '';
  for (const [i, ch] of [...vm].entries()) {
    if (/[A-Za-z0-9_-]/.test(ch) || (ch === '.' && i > 0)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${UNIT_PREFIX}${out}${UNIT_SUFFIX}`;
}

/** The VM name a unit name of roost's stands for (unitNameOf read back); undefined for any other name. */
export function vmOfUnitName(unit: string): string | undefined {
  if (!unit.startsWith(UNIT_PREFIX) || !unit.endsWith(UNIT_SUFFIX)) return undefined;
  const escaped = unit.slice(UNIT_PREFIX.length, -UNIT_SUFFIX.length);
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length;) {
    const hex = /^\\x([0-9a-f]{2})/.exec(escaped.slice(i));
    if (hex) {
      bytes.push(parseInt(hex[1]!, 16));
      i += 4;
    } else bytes.push(escaped.charCodeAt(i++));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** What the unit runs: the same node and the same roost build as this command, on the same connection. */
export interface UnitCommand {
  node: string;
  cli: string;
  uri: string;
  vm: string;
}

/**
 * One ExecStart/ExecStop argument the way systemd reads it back: double-quoted, with `\` and `"` escaped, `%`
 * doubled (specifiers) and `$` doubled (variable expansion). A character below 0x20 or DEL could end the line
 * and start a new directive: refused, never escaped.
 */
export function quoteUnitArg(arg: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(arg)) {
    throw new UsageError(
      'AUTOSTART_UNSAFE_VALUE',
      `cannot write a unit with ${JSON.stringify(arg)}: it holds a control character`,
    );
  }
  return `"${arg
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/%/g, '%%')
    .replace(/\$/g, '$$$$')}"`;
}

/** How long `roost stop` gives the guest at logout: inside TimeoutStopSec, so roost, not systemd, says it gave up. */
const STOP_TIMEOUT_S = 240;

const commandLine = (c: UnitCommand, verb: 'start' | 'stop'): string =>
  [
    c.node,
    c.cli,
    '--connect',
    c.uri,
    verb,
    ...(verb === 'stop' ? ['--timeout', String(STOP_TIMEOUT_S)] : []),
    c.vm,
  ]
    .map(quoteUnitArg)
    .join(' ');

/** The unit's text. Type=oneshot + RemainAfterExit: the VM is not a child of the unit, it lives in libvirt. */
export function unitText(c: UnitCommand): string {
  return [
    `${UNIT_MARKER}${c.vm}`,
    '[Unit]',
    // Description expands %-specifiers too.
    `Description=roost VM ${c.vm.replace(/%/g, '%%')}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${commandLine(c, 'start')}`,
    `ExecStop=${commandLine(c, 'stop')}`,
    // A TCG guest can take minutes to shut down; roost stop gives up (and says so) before systemd would kill it.
    `TimeoutStopSec=${STOP_TIMEOUT_S + 60}`,
    '',
    '[Install]',
    `WantedBy=${WANTED_BY}`,
    '',
  ].join('\n');
}

/** autostart manages this machine's logins: only a local session connection makes sense for it. */
export function checkAutostartUri(uri: string): void {
  const u = parseUri(uri);
  if (u.transport !== 'unix' || u.scope !== 'session') {
    throw new UsageError(
      'AUTOSTART_NOT_LOCAL_SESSION',
      `autostart starts VMs of this machine's session connection when you log in, not of ${uri}`,
      { hint: 'run roost autostart on the host that runs the VM, with its local qemu:///session' },
    );
  }
}

/** The unit appears whole or not at all (a login in between must not read half a unit); 0600 like all of roost's. */
function writeUnitFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
}

/** Whether a file at `path` is a unit roost wrote for `vm` (a hand-written unit of the same name is not). */
function isOurs(path: string, vm: string): boolean {
  try {
    return readFileSync(path, 'utf8').startsWith(`${UNIT_MARKER}${vm}\n`);
  } catch {
    return false;
  }
}

/** How systemd is doing on this host: enough to say what the unit will do. */
export interface SystemdState {
  /** systemctl exists: the host has systemd at all. */
  installed: boolean;
  /** systemd is PID 1 (/run/systemd/system exists). */
  running: boolean;
  /** This user's manager answers (its private socket exists): a daemon-reload makes it see the unit now. */
  userManager: boolean;
  /** `loginctl enable-linger` was done for this user: the manager starts at boot. */
  linger: boolean;
}

export function systemdState(env: NodeJS.ProcessEnv = process.env, user = userInfo().username): SystemdState {
  const onPath = (bin: string) =>
    (env.PATH ?? '/usr/bin:/bin').split(':').some((d) => d !== '' && existsSync(join(d, bin)));
  return {
    installed: onPath('systemctl'),
    running: existsSync('/run/systemd/system'),
    userManager:
      env.XDG_RUNTIME_DIR !== undefined && existsSync(join(env.XDG_RUNTIME_DIR, 'systemd', 'private')),
    linger: existsSync(join('/var/lib/systemd/linger', user)),
  };
}

export interface AutostartOnResult {
  name: string;
  unit: string;
  /** Where the unit file is. */
  path: string;
  atBoot: boolean;
  /** The command that turns lingering on, when --at-boot asked for it and it is off (needs root once). */
  lingerCommand?: string;
  /** What the user should know: no systemd running, a reload that failed… */
  warnings: string[];
}

export interface AutostartOptions {
  env?: NodeJS.ProcessEnv;
  /** For tests: which node and roost build the unit runs (default: this process's). */
  node?: string;
  cli?: string;
  systemd?: SystemdState;
  user?: string;
}

/** Writes and enables the unit. The VM must exist (the caller looked it up): a typo must not leave a unit. */
export async function autostartOn(
  uri: string,
  vm: string,
  atBoot: boolean,
  opts: AutostartOptions = {},
): Promise<AutostartOnResult> {
  checkAutostartUri(uri);
  const env = opts.env ?? process.env;
  const sd = opts.systemd ?? systemdState(env, opts.user);
  if (!sd.installed) {
    throw new RoostError(
      'AUTOSTART_NO_SYSTEMD',
      'this host has no systemd (no systemctl): roost autostart writes systemd user units',
      {
        hint: `start the VM from your login script instead: roost start ${vm}`,
      },
    );
  }
  const cli = opts.cli ?? cliEntryFile();
  if (cli === undefined) {
    throw new RoostError(
      'AUTOSTART_NO_BUILD',
      'roost runs without its build (dist/cli/main.js): the unit would have nothing to run',
      {
        hint: 'run npm run build in roost first',
      },
    );
  }
  const dirs = autostartDirs(env);
  const unit = unitNameOf(vm);
  const path = join(dirs.units, unit);
  if (existsSync(path) && !isOurs(path, vm)) {
    throw new RoostError('AUTOSTART_UNIT_EXISTS', `${path} exists and roost did not write it`, {
      hint: 'remove or rename that unit yourself, then run roost autostart on again',
    });
  }
  mkdirSync(dirs.wants, { recursive: true, mode: 0o700 });
  writeUnitFile(path, unitText({ node: opts.node ?? process.execPath, cli, uri, vm }));
  const link = join(dirs.wants, unit);
  rmSync(link, { force: true });
  symlinkSync(join('..', unit), link);

  const warnings: string[] = [];
  if (!sd.running) {
    warnings.push(
      'systemd is not running on this host (no /run/systemd/system): nothing starts the unit until it does',
    );
  } else if (sd.userManager) {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('systemctl', ['--user', 'daemon-reload'], { env, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0)
      warnings.push(
        `systemctl --user daemon-reload failed (${(r.stderr || r.error?.message || '').trim()}): the unit takes effect at your next login`,
      );
  }
  const user = opts.user ?? userInfo().username;
  const lingerCommand = atBoot && !sd.linger ? `sudo loginctl enable-linger ${user}` : undefined;
  return { name: vm, unit, path, atBoot, lingerCommand, warnings };
}

export interface AutostartOffResult {
  name: string;
  /** False when there was no unit of roost's for the VM (off twice is not an error). */
  removed: boolean;
}

/** Disables and removes roost's unit for `vm`; a unit of that name roost did not write is left alone. */
export function autostartOff(vm: string, env: NodeJS.ProcessEnv = process.env): AutostartOffResult {
  const dirs = autostartDirs(env);
  const unit = unitNameOf(vm);
  const path = join(dirs.units, unit);
  if (!isOurs(path, vm)) {
    if (existsSync(path)) {
      throw new RoostError('AUTOSTART_UNIT_NOT_OURS', `${path} was not written by roost: left as it is`, {
        hint: `systemctl --user disable ${unit}`,
      });
    }
    return { name: vm, removed: false };
  }
  rmSync(join(dirs.wants, unit), { force: true });
  rmSync(path, { force: true });
  return { name: vm, removed: true };
}

/**
 * What `roost rm` does for the VM it removed: its unit goes too (a login would otherwise start a VM that is
 * gone). Only for the local session connection: a VM of that name on another host is not the one the unit starts.
 */
export function dropAutostartOf(uri: string, vm: string, env: NodeJS.ProcessEnv): boolean {
  try {
    checkAutostartUri(uri);
    return autostartOff(vm, env).removed;
  } catch {
    return false; // a remote VM, or a unit roost did not write: not rm's to remove
  }
}

/** The VMs that roost's units start at login: enabled units roost wrote, by VM name. */
export function autostartVms(env: NodeJS.ProcessEnv = process.env): Set<string> {
  const dirs = autostartDirs(env);
  let entries: string[];
  try {
    entries = readdirSync(dirs.wants);
  } catch {
    return new Set();
  }
  const vms = new Set<string>();
  for (const entry of entries) {
    const vm = vmOfUnitName(entry);
    if (vm === undefined) continue;
    const link = join(dirs.wants, entry);
    // Enabled means the link is there; roost's means the unit it points at carries the marker.
    if (lstatSync(link).isSymbolicLink() && isOurs(join(dirs.units, entry), vm)) vms.add(vm);
  }
  return vms;
}
