import { describe, expect, it } from 'vitest';
import { ConnectionClosedError } from '../libvirt/errors.js';
import { DaemonGoneError, InterruptedError, Steps } from './steps.js';

describe('Steps', () => {
  it('runs a step when nothing interrupted it, without the hook unless ROOST_TEST_PAUSE_AT names it', async () => {
    const steps = new Steps('create', { env: {} });
    expect(await steps.run('disk', 'creating the disk', async () => 42)).toBe(42);
  });

  it('stops at the next boundary once interrupted, naming the signal', async () => {
    const ctl = new AbortController();
    const steps = new Steps('create', { signal: ctl.signal, env: {} });
    ctl.abort('SIGTERM');
    let ran = false;
    const e = await steps.run('define', 'defining the VM', async () => (ran = true)).catch((x: unknown) => x);
    expect(ran).toBe(false);
    expect(e).toBeInstanceOf(InterruptedError);
    expect((e as InterruptedError).signal).toBe('SIGTERM');
    expect((e as Error).message).toBe('roost create was interrupted (SIGTERM)');
  });

  it('names the command by its title where the hook name is shorter (port add, hook port:…)', async () => {
    const ctl = new AbortController();
    const steps = new Steps('port', { signal: ctl.signal, env: {}, title: 'port add' });
    ctl.abort('SIGINT');
    const e = await steps.run('detach', 'unplugging', async () => 1).catch((x: unknown) => x);
    expect((e as Error).message).toBe('roost port add was interrupted (SIGINT)');
  });

  it('runs a step past the point of no return even when interrupted', async () => {
    const ctl = new AbortController();
    const steps = new Steps('rm', { signal: ctl.signal, env: {} });
    ctl.abort('SIGINT');
    expect(await steps.run('undefine', 'undefining', async () => 'done', { stoppable: false })).toBe('done');
  });

  it("says which step the daemon went away in, not the transport's words", async () => {
    const steps = new Steps('create', { env: {} });
    const e = await steps
      .run('define', 'defining the VM', () =>
        Promise.reject(new ConnectionClosedError('the libvirt daemon closed the connection')),
      )
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DaemonGoneError);
    expect((e as DaemonGoneError).code).toBe('DAEMON_GONE');
    expect((e as Error).message).toBe('the libvirt daemon went away while defining the VM');
  });
});
