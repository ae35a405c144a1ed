// roost exec's refusals through a fake daemon (libvirt/testing.ts): a VM that is not running, one without the
// agent channel, an agent that is not connected, a program the agent cannot start, and bad input — each refused
// with its code before, or instead of, anything running in the guest. The guest side (output, exit codes) is
// tested against a real agent in test/integration/exec.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RoostError } from '../errors.js';
import type { LibvirtClient } from '../libvirt/api.js';
import { VirErrorCode } from '../libvirt/errors.js';
import { FakeLibvirtError, openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import { roostPaths } from '../paths.js';
import type { VmContext } from './context.js';
import { EXEC_INPUT_MAX_BYTES, GuestCommandNotStartedError, execInVm } from './exec.js';

let fake: FakeLibvirt;
let client: LibvirtClient;
let ctx: VmContext;

beforeEach(async () => {
  ({ fake, client } = await openFakeLibvirt());
  const env = { HOME: '/nonexistent' };
  ctx = { client, uri: 'qemu:///session', paths: roostPaths(env), env, close: () => client.close() };
});

afterEach(async () => {
  await client.close().catch(() => {});
});

const AGENT_CHANNEL = `<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>`;

function define(name: string, devices: string, active: boolean): void {
  const xml = `<domain type='qemu'><name>${name}</name><uuid>${'1'.repeat(32)}</uuid>
  <memory unit='KiB'>524288</memory><vcpu>1</vcpu><devices>${devices}</devices></domain>`;
  fake.domains.set(name, { name, uuid: Buffer.alloc(16, 0x11), xml, active, persistent: true });
}

async function refusal(p: Promise<unknown>): Promise<RoostError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RoostError);
  return e as RoostError;
}

describe('execInVm refuses', () => {
  it('a VM that is not running, saying to start it', async () => {
    define('off', AGENT_CHANNEL, false);
    const e = await refusal(execInVm(ctx, 'off', ['true']));
    expect(e.code).toBe('VM_NOT_RUNNING');
    expect(e.hint).toBe('start it: roost start off');
    expect(fake.calls).not.toContain('QEMU_DOMAIN_AGENT_COMMAND');
  });

  it('a VM without the agent channel, naming the channel to add', async () => {
    define('bare', '', true);
    const e = await refusal(execInVm(ctx, 'bare', ['true']));
    expect(e.code).toBe('EXEC_NO_AGENT_CHANNEL');
    expect(e.hint).toContain('org.qemu.guest_agent.0');
    expect(fake.calls).not.toContain('QEMU_DOMAIN_AGENT_COMMAND');
  });

  it('an agent that is not connected: what to install', async () => {
    define('tiny', AGENT_CHANNEL, true);
    fake.before = (name) => {
      if (name === 'QEMU_DOMAIN_AGENT_COMMAND')
        throw new FakeLibvirtError(
          VirErrorCode.AGENT_UNRESPONSIVE,
          'Guest agent is not responding: QEMU guest agent is not connected',
        );
    };
    const e = await refusal(execInVm(ctx, 'tiny', ['uname', '-a']));
    expect(e.code).toBe('EXEC_AGENT_NOT_ANSWERING');
    expect(e.hint).toMatch(/install and start qemu-guest-agent/);
  });

  it('a program the agent cannot start: GuestCommandNotStartedError (the CLI exits 127)', async () => {
    define('web', AGENT_CHANNEL, true);
    fake.before = (name) => {
      if (name === 'QEMU_DOMAIN_AGENT_COMMAND')
        throw new FakeLibvirtError(
          VirErrorCode.INTERNAL_ERROR,
          "internal error: unable to execute QEMU agent command 'guest-exec': Failed to execute child process “nope” (No such file or directory)",
        );
    };
    const e = await refusal(execInVm(ctx, 'web', ['nope']));
    expect(e).toBeInstanceOf(GuestCommandNotStartedError);
    const said =
      "'nope' could not be started in VM 'web': Failed to execute child process “nope” (No such file or directory)";
    expect(e.message).toBe(said);
    // How libvirt 9 and later word the same failure.
    fake.before = (name) => {
      if (name === 'QEMU_DOMAIN_AGENT_COMMAND')
        throw new FakeLibvirtError(
          VirErrorCode.AGENT_COMMAND_FAILED,
          "Guest agent command failed, error was 'Failed to execute child process “nope” (No such file or directory)'",
        );
    };
    expect((await refusal(execInVm(ctx, 'web', ['nope']))).message).toBe(said);
  });

  it('no command, or stdin over the cap: usage errors, nothing asked of the daemon', async () => {
    define('web', AGENT_CHANNEL, true);
    const before = fake.calls.length;
    expect((await refusal(execInVm(ctx, 'web', []))).code).toBe('EXEC_NO_COMMAND');
    const big = Buffer.alloc(EXEC_INPUT_MAX_BYTES + 1);
    expect((await refusal(execInVm(ctx, 'web', ['cat'], { input: big }))).code).toBe('EXEC_INPUT_TOO_LARGE');
    expect(fake.calls.slice(before)).toEqual([]);
  });
});
