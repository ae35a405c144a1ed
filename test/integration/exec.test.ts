// roost exec against real guest agents: the Debian guest (qemu-guest-agent runs there) for output, exit codes,
// stderr, binary-safe stdin and stdout, and a missing program; the tiny guest (the agent channel roost adds, but
// no agent in the guest) for the refusal that says what to install. No network is used: the Debian VM has no
// port forward and nothing reaches it over ssh or TCP. One Debian boot for the whole file.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  createScope,
  debianCreateArgs,
  debianGuest,
  debianImportArgs,
  harness,
  roost,
  spawnOptionsFor,
  tinyCreateArgs,
  tinyGuest,
  type RunResult,
  waitUntil,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('exec', user, uri);
const guest = debianGuest(user);
const image = scope.name('img');
const debian = scope.name('deb');
const tiny = scope.name('tiny');
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** roost exec with bytes on stdin, its stdout kept as bytes. */
function execBinary(args: string[], input: Buffer): Promise<{ code: number | null; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'exec', ...args], {
      ...spawnOptionsFor(user),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const out: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out) }));
    child.stdin!.end(input);
  });
}

beforeAll(async () => {
  const imp = await roost(user, debianImportArgs(guest, image));
  expect(imp.code, text(imp)).toBe(0);
  const made = await roost(
    user,
    ['create', debian, '--image', image, ...debianCreateArgs(guest), '--wait', 'none'],
    { timeoutMs: 300_000 },
  );
  expect(made.code, text(made)).toBe(0);
  // The agent answers once systemd has started it: well before the guest is fully up.
  const up = await waitUntil(
    async () => (await roost(user, ['exec', debian, '--', 'true'])).code === 0,
    900_000,
    3_000,
  );
  expect(up, 'the Debian guest agent never answered').toBe(true);
}, 1_000_000);

afterAll(async () => {
  await roost(user, ['rm', '--force', debian]);
  await roost(user, ['rm', '--force', tiny]);
  await roost(user, ['image', 'rm', image]);
  await scope.cleanup();
});

describe('roost exec on the Debian guest (qemu-guest-agent)', () => {
  it('passes stdout through, exit 0', async () => {
    const r = await roost(user, ['exec', debian, '--', 'echo', 'hello', 'from the guest']);
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toBe('hello from the guest\n');
    expect(r.stderr).toBe('');
  });

  it("passes the command's exit code and stderr through", async () => {
    const r = await roost(user, ['exec', debian, '--', 'sh', '-c', 'echo out; echo oops >&2; exit 3']);
    expect(r.code, text(r)).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('oops\n');
  });

  it('a process ended by a signal exits 128+N', async () => {
    const r = await roost(user, ['exec', debian, '--', 'sh', '-c', 'kill -TERM $$']);
    expect(r.code, text(r)).toBe(128 + 15);
  });

  it('is binary-safe both ways: every byte value through --stdin and back on stdout', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
    const echo = await execBinary([debian, '--stdin', '--', 'cat'], bytes);
    expect(echo.code).toBe(0);
    expect(echo.stdout.equals(bytes)).toBe(true);
    const sum = await execBinary([debian, '--stdin', '--', 'sha256sum'], bytes);
    expect(sum.stdout.toString().split(' ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('a program that does not exist: exit 127 and what the agent said', async () => {
    const r = await roost(user, ['exec', debian, '--', 'no-such-program-here']);
    expect(r.code, text(r)).toBe(127);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no-such-program-here.*could not be started/);
  });

  it('--timeout gives up with exit 124 and says the command runs on', async () => {
    const r = await roost(user, ['exec', debian, '--timeout', '2', '--', 'sleep', '30']);
    expect(r.code, text(r)).toBe(124);
    expect(r.stderr).toMatch(/still running after 2 s .*runs on/);
  });

  it('no command is a usage error (exit 2)', async () => {
    const r = await roost(user, ['exec', debian]);
    expect(r.code, text(r)).toBe(2);
  });
});

describe('roost exec refuses where no agent can answer', () => {
  it('a VM that is not running: says to start it', async () => {
    const made = await roost(user, ['create', tiny, ...tinyCreateArgs(tinyGuest(user)), '--no-start']);
    expect(made.code, text(made)).toBe(0);
    const r = await roost(user, ['exec', tiny, '--', 'true']);
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toMatch(/is not running/);
    expect(r.stderr).toContain(`roost start ${tiny}`);
  });

  it('the tiny guest (no qemu-guest-agent inside): exit 1, what to install', async () => {
    const started = await roost(user, ['start', tiny]);
    expect(started.code, text(started)).toBe(0);
    const r = await roost(user, ['exec', tiny, '--', 'true']);
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toMatch(/guest agent of VM .* does not answer/);
    expect(r.stderr).toMatch(/install and start qemu-guest-agent/);
  });
});
