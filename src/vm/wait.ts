// `create --wait` and `start --wait`: what "ready" means after a VM starts.
import { RoostError, UsageError } from '../errors.js';
import { DomainState } from '../libvirt/types.js';
import { waitForPort } from '../net/wait-port.js';
import { dialAddress, parsePortForward, type PortForward } from '../net/port-spec.js';
import type { VmContext } from './context.js';

export type WaitFor = { kind: 'none' } | { kind: 'ssh' } | { kind: 'port'; port: number };

/** The VM to wait for: its name (for ssh) and its forwards (for a port). */
export interface WaitTarget {
  name: string;
  ports: PortForward[];
}

/** Parses --wait and checks it against the --port list, before anything is created. */
export function checkWait(text: string, portSpecs: string[]): WaitFor {
  const w = parseWait(text);
  if (w.kind === 'port') forwardFor(portSpecs.map(parsePortForward), w.port);
  return w;
}

export function parseWait(text: string): WaitFor {
  if (text === 'none') return { kind: 'none' };
  if (text === 'ssh') return { kind: 'ssh' };
  const m = /^port:(\d{1,5})$/.exec(text);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) return { kind: 'port', port: Number(m[1]) };
  throw new UsageError(
    'INVALID_WAIT',
    `invalid --wait '${text}': use 'ssh', 'port:N' (a guest port you forward) or 'none'`,
  );
}

/** The forward that carries guest port `port`; a UsageError (checked before anything is created) if none. */
export function forwardFor(ports: PortForward[], port: number): PortForward {
  const fwd = ports.find(
    (p) => p.proto === 'tcp' && p.guestStart <= port && port <= p.guestStart + (p.hostEnd - p.hostStart),
  );
  if (!fwd) {
    throw new UsageError(
      'INVALID_WAIT',
      `--wait port:${port}: guest port ${port} is not forwarded over TCP (add --port HOST:${port})`,
    );
  }
  return fwd;
}

/** Where a wait for ssh is: the guest boots until sshd answers, then cloud-init finishes its first boot. */
export type WaitStep = 'booting' | 'cloud-init';

/** How often the VM's state is checked while waiting: a guest that powers off fails the wait at once. */
const STATE_POLL_MS = 2000;

/**
 * Waits until the guest is ready as asked; returns how long it took. `ssh` means a real login with the VM's key
 * succeeds (cloud-init has created the user and installed the key), not just that port 22 answers. When the wait
 * times out, or the VM stops meanwhile, the error carries the end of the guest's serial console: what a user
 * needs to see why it did not come up.
 */
export async function waitUntilReady(
  ctx: VmContext,
  r: WaitTarget,
  w: WaitFor,
  timeoutS: number,
  onStep: (step: WaitStep) => void = () => {},
): Promise<number | undefined> {
  if (w.kind === 'none') return undefined;
  const stop = new AbortController();
  try {
    const ready =
      w.kind === 'ssh'
        ? waitForSshLogin(ctx, r, timeoutS, stop.signal, onStep)
        : waitForGuestPort(ctx, r, w.port, timeoutS, stop.signal);
    return await Promise.race([ready, failWhenStopped(ctx, r.name, stop.signal)]);
  } catch (e) {
    throw await withSerialTail(ctx, r.name, e);
  } finally {
    stop.abort();
  }
}

async function waitForGuestPort(
  ctx: VmContext,
  r: WaitTarget,
  port: number,
  timeoutS: number,
  signal: AbortSignal,
) {
  const fwd = forwardFor(r.ports, port);
  const hostPort = fwd.hostStart + (port - fwd.guestStart);
  const host = dialAddress(fwd);
  const started = Date.now();
  const probe = (h: string, p: number) =>
    waitForPort(h, p, { timeoutMs: Math.max(0, timeoutS * 1000 - (Date.now() - started)), signal });
  // A VM of another host: its forward listens there, probed through an ssh forward from here.
  const { isRemote, jumpHostOf } = await import('./remote.js');
  const remote = isRemote(ctx);
  const ms = remote
    ? await (
        await import('./remote-tunnel.js')
      ).withRemoteForward(ctx, { host, port: hostPort }, (local) => probe('127.0.0.1', local))
    : await probe(host, hostPort);
  if (ms === undefined) {
    const where = remote ? ` of ${jumpHostOf(ctx)} (through ssh)` : '';
    throw new RoostError(
      'WAIT_TIMEOUT',
      `guest port ${port} did not answer on ${host}:${hostPort}${where} within ${timeoutS} s`,
      {
        hint: `the VM is running; all it printed: roost logs ${r.name}`,
      },
    );
  }
  return Date.now() - started;
}

/** Never resolves; rejects once the VM is no longer running (powered off, crashed), until `signal` aborts. */
async function failWhenStopped(ctx: VmContext, name: string, signal: AbortSignal): Promise<never> {
  const { lookupVm, stateName } = await import('./lookup.js');
  const dom = await lookupVm(ctx, name);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, STATE_POLL_MS).unref());
    if (signal.aborted) return new Promise<never>(() => {});
    const { state } = await ctx.client.getState(dom);
    // Running, or paused (e.g. by the user, to look): anything else means it will not come up.
    if (state !== DomainState.RUNNING && state !== DomainState.PAUSED && !signal.aborted) {
      throw new RoostError(
        'VM_STOPPED_WHILE_WAITING',
        `VM '${name}' stopped before it was ready (${stateName(state)})`,
        {
          hint: `all it printed: roost logs ${name}; QEMU's side: roost logs --qemu ${name}`,
        },
      );
    }
  }
}

/** A wait that failed gets the end of the serial console in its detail (when there is a log to show). */
async function withSerialTail(ctx: VmContext, name: string, e: unknown): Promise<unknown> {
  if (!(e instanceof RoostError) || (e.code !== 'WAIT_TIMEOUT' && e.code !== 'VM_STOPPED_WHILE_WAITING'))
    return e;
  const { logPath, logTail } = await import('./logs.js');
  const path = await logPath(ctx, name, 'serial').catch(() => undefined);
  const tail = path === undefined ? undefined : logTail(path);
  if (tail === undefined) return e;
  return new RoostError(e.code, e.message, {
    hint: e.hint,
    detail: `the end of its serial console (${path}):\n${tail.replace(/^/gm, '| ')}`,
    cause: e,
  });
}

async function waitForSshLogin(
  ctx: VmContext,
  r: WaitTarget,
  timeoutS: number,
  signal: AbortSignal,
  onStep: (step: WaitStep) => void,
): Promise<number> {
  const [{ resolveSshTarget, sshArgs }, { TargetForward }] = await Promise.all([
    import('./ssh.js'),
    import('./remote-tunnel.js'),
  ]);
  const started = Date.now();
  const deadline = started + timeoutS * 1000;
  // A VM of another host: one ssh forward to its sshd for every attempt of the wait.
  const forward = new TargetForward(ctx);
  let last = '';
  let loggedIn = false;
  onStep('booting');
  try {
    while (Date.now() < deadline && !signal.aborted) {
      // A bridged guest has no address until its DHCP lease: ask again until one is found.
      const found = await resolveSshTarget(ctx, r.name).catch((e: unknown) => {
        if (e instanceof RoostError && e.code === 'SSH_ADDRESS_UNKNOWN') {
          last = e.message;
          return undefined;
        }
        throw e;
      });
      if (found === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      const target = await forward.to(found);
      // The banner comes first (sshd is up); only then is a login attempt worth its cost.
      const left = Math.max(0, deadline - Date.now());
      if ((await waitForPort(target.host, target.port, { timeoutMs: left, signal })) === undefined) break;
      const res = await loginOnce(
        r.name,
        (cmd) => sshArgs(target, ctx.paths, [cmd], { batch: true }),
        () => {
          if (!loggedIn) onStep('cloud-init');
          loggedIn = true;
        },
      );
      if (res === 'ready') return Date.now() - started;
      last = res;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    forward.close();
  }
  throw new RoostError(
    'WAIT_TIMEOUT',
    `could not log in to '${r.name}' with ssh within ${timeoutS} s${last ? ` (last: ${last})` : ''}`,
    {
      hint: `the VM is running; all it printed: roost logs ${r.name}`,
    },
  );
}

/**
 * One try: 'ready' when a login works and cloud-init is done, else what went wrong (for the timeout's message).
 * One ssh session does both: it says it is in (LOGGED_IN), then waits for cloud-init. A second login would cost
 * the booting guest another key exchange, and a third after cloud-init's end (as roost once did, to prove that
 * sshd, restarted by cloud-init's config stage, took logins again) put most of a second between the guest being
 * ready and roost saying so. Once cloud-init is done its stages are over, and nothing of its restarts sshd again.
 */
async function loginOnce(
  name: string,
  argsFor: (command: string) => string[],
  onLoggedIn: () => void,
): Promise<string> {
  let loggedIn = false;
  const res = await runSsh(argsFor(CLOUD_INIT_WAIT), (stdout) => {
    if (!loggedIn && afterLoggedIn(stdout) !== undefined) {
      loggedIn = true;
      onLoggedIn();
    }
  });
  const said = afterLoggedIn(res.stdout);
  if (said === undefined) return lastLine(res.stderr) || `exit ${res.code}`;
  const status = readCloudInitStatus(res.code, said);
  if (status.kind === 'error') {
    // Waiting longer changes nothing: cloud-init has finished this boot, with errors. Say so now, with them.
    throw new RoostError('CLOUD_INIT_FAILED', `cloud-init finished on '${name}' with errors`, {
      hint: `the VM is running and takes logins: roost ssh ${name}; the whole story: roost ssh ${name} -- sudo cat /var/log/cloud-init.log`,
      detail: status.detail
        ? `cloud-init status --long said:\n${status.detail.replace(/^/gm, '| ')}`
        : undefined,
    });
  }
  if (status.kind === 'unknown') return `cloud-init status: ${status.said}`;
  return 'ready';
}

const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';

/** The line the wait's ssh session prints first: the login worked. */
export const LOGGED_IN = 'roost-logged-in';

/**
 * What the session printed after LOGGED_IN, or undefined before that line. The user's shell may print lines of
 * its own first (a .bashrc that echoes: bash reads it for ssh commands too).
 */
export function afterLoggedIn(stdout: string): string | undefined {
  const at = `\n${stdout}`.indexOf(`\n${LOGGED_IN}\n`);
  return at < 0 ? undefined : stdout.slice(at + LOGGED_IN.length + 1);
}

/** Where cloud-init links its records of this boot (in /run: gone at the next boot). */
export const CLOUD_INIT_RUN_DIR = '/run/cloud-init';

/**
 * The guest side of the wait, in Python (cloud-init is Python, so python3 is there) and without a single quote
 * (it travels inside one). It reads cloud-init's own records every 50 ms: cloud-init links result.json once its
 * last stage ends, and done means no errors there nor in any stage of status.json (what `cloud-init status`
 * reads). Anything else goes to `cloud-init status --wait --long`, which has the last word and whose words are
 * passed on: errors, records missing (cloud-init disabled or not run) or not understood (another version), and
 * a first boot still going after a while (newer versions see a crashed stage). It is not started at once: its
 * imports cost a TCG guest seconds of CPU just when cloud-init's last stages need it, and it looks only every
 * 250 ms and then takes a while to exit. Arguments: the records' directory, how long to wait for records before
 * asking it, and how long before asking it anyway (seconds).
 */
const FAST_CLOUD_INIT_WAIT = `import json, os, sys, time
where, no_records_s, anyway_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def v1(name):
    with open(os.path.join(where, name)) as f:
        return json.load(f)["v1"]
def verdict():
    try:
        stages = v1("status.json")
        if not isinstance(stages, dict):
            return "unknown"
    except FileNotFoundError:
        return "no records"
    except Exception:
        return "unknown"
    try:
        result = v1("result.json")
    except FileNotFoundError:
        return "running"
    except Exception:
        return "unknown"
    try:
        clean = result["errors"] == [] and all(not s.get("errors") for s in stages.values() if isinstance(s, dict))
    except Exception:
        return "unknown"
    return "done" if clean else "errors"
start = time.monotonic()
while True:
    v = verdict()
    waited = time.monotonic() - start
    if v == "done":
        print("status: done")
        sys.exit(0)
    if v in ("errors", "unknown") or waited >= anyway_s or (v == "no records" and waited >= no_records_s):
        break
    time.sleep(0.05)
sys.stdout.flush()
os.execvp("cloud-init", ["cloud-init", "status", "--wait", "--long"])
`;

/**
 * The wait's one remote command (ssh joins arguments with spaces, the login shell runs it): say the login worked,
 * then wait for cloud-init where it exists and print its status (`--long` adds the errors a failed first boot is
 * reported with), else say done. Without python3 it is cloud-init's own wait alone.
 */
export function cloudInitWaitCommand(
  runDir = CLOUD_INIT_RUN_DIR,
  { noRecordsS = 2, anywayS = 30 } = {},
): string {
  const fast = `python3 -I -S -c '${FAST_CLOUD_INIT_WAIT}' '${runDir}' ${noRecordsS} ${anywayS} 2>&1`;
  const own = 'cloud-init status --wait --long 2>&1';
  return (
    `echo ${LOGGED_IN}; if command -v cloud-init >/dev/null 2>&1; then ` +
    `if command -v python3 >/dev/null 2>&1; then ${fast}; else ${own}; fi; ` +
    'else echo "status: done"; fi'
  );
}

export const CLOUD_INIT_WAIT = cloudInitWaitCommand();

export type CloudInitStatus =
  | { kind: 'done' }
  | { kind: 'error'; detail: string }
  /** Not an answer from cloud-init (ssh dropped, cloud-init crashed reading a half-written file): ask again. */
  | { kind: 'unknown'; said: string };

/**
 * What `cloud-init status --wait --long` said. Exit 0 is done; exit 2 (cloud-init 23.4 and later) is done with
 * recoverable errors, which cloud-init itself calls degraded but finished; exit 1 is an error only when the
 * output says `status: error` — a crash of the status command also exits 1, and a retry is the answer to that.
 */
export function readCloudInitStatus(code: number, output: string): CloudInitStatus {
  const status = /(?:^|\.)status: (\S+)/m.exec(output)?.[1];
  if (code === 0 || code === 2) return { kind: 'done' };
  if (code === 1 && status === 'error') return { kind: 'error', detail: output.replace(/^\.+/, '').trim() };
  const said = lastLine(output).slice(0, 200);
  return { kind: 'unknown', said: `exit ${code}${said ? `: ${said}` : ''}` };
}

async function runSsh(
  args: string[],
  onStdout: (stdout: string) => void = () => {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Bounded: a guest could print without end; the status and its errors fit well within this.
    child.stdout.on('data', (b: Buffer) => {
      if (stdout.length < 64 * 1024) stdout += b.toString('utf8');
      onStdout(stdout);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
    });
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 255, stdout, stderr }));
  });
}
