import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  hostHoldsLoopbackPort,
  MAX_OUTPUT_BYTES,
  planRound,
  runSsh,
} from './auto-ports-round.js';

const free = () => Promise.resolve(undefined);
const none = new Set<number>();

describe('planRound: what a guest may make auto-ports forward', () => {
  it('forwards unprivileged ports, a few per round, and never the well-known ones', async () => {
    const plan = await planRound(
      [22, 80, 443, 1023, 3000, 8000, 8080, 9000, 9090],
      [],
      new Set([22]),
      true,
      free,
    );
    expect(plan.add).toEqual([3000, 8000, 8080, 9000]);
    expect(plan.skipped.map((s) => s.port)).toEqual([80, 443, 1023]);
    expect(plan.skipped[0]!.reason).toMatch(/outside the auto-ports range 1024-65535/);
    expect(plan.remove).toEqual([]);
  });

  it('1000 listening ports: 4 a round, never more than 32 held, the rest said to be over the limit', async () => {
    const wanted = Array.from({ length: 1000 }, (_, i) => 20000 + i);
    let current: number[] = [];
    for (let round = 0; round < 20; round++) {
      const plan = await planRound(wanted, current, none, true, free);
      expect(plan.add.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxNewPerRound);
      current = [...current, ...plan.add];
      expect(current.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxForwards);
      expect(plan.skipped.length).toBeLessThanOrEqual(64);
    }
    expect(current).toHaveLength(32);
    const last = await planRound(wanted, current, none, true, free);
    expect(last.add).toEqual([]);
    expect(last.skipped[0]!.reason).toMatch(/holds 32 forwards already/);
  });

  it('never forwards a port the host already holds, and moves on to the next', async () => {
    const held = new Set([8000, 8001, 8002, 8003, 8004]);
    const host = (p: number) =>
      Promise.resolve(held.has(p) ? `host port ${p} is in use on the host` : undefined);
    const plan = await planRound([8000, 8001, 8002, 8003, 8004, 8005], [], none, true, host);
    expect(plan.add).toEqual([8005]);
    expect(plan.skipped.map((s) => s.port)).toEqual([8000, 8001, 8002, 8003, 8004]);
  });

  it('cancels a forward only when the answer is complete', async () => {
    expect((await planRound([3000], [3000, 4000], none, true, free)).remove).toEqual([4000]);
    expect((await planRound([3000], [3000, 4000], none, false, free)).remove).toEqual([]);
  });

  it('a narrower range and cap from the options hold too', async () => {
    const limits = { minPort: 8000, maxPort: 8999, maxForwards: 2, maxNewPerRound: 1 };
    const plan = await planRound([7999, 8000, 8001, 9000], [8500], none, true, free, limits);
    expect(plan.add).toEqual([8000]);
    expect(plan.remove).toEqual([8500]);
    expect(plan.skipped.map((s) => s.port)).toEqual([7999, 9000]);
  });
});

describe('runSsh reads a bounded amount', () => {
  it('stops a child that writes without end at the limit, keeping what it read', async () => {
    const r = await runSsh(['-c', 'yes 0123456789abcdef'], 15_000, 1 << 20, 'sh');
    expect(r.truncated).toBe(true);
    expect(r.code).toBe(0);
    expect(Buffer.byteLength(r.stdout)).toBe(1 << 20);
  });
  it('reads a short answer whole', async () => {
    expect(await runSsh(['-c', 'echo hi; echo oops >&2'], 15_000, MAX_OUTPUT_BYTES, 'sh')).toEqual({
      code: 0,
      stdout: 'hi\n',
      stderr: 'oops\n',
      truncated: false,
    });
  });
});

describe('hostHoldsLoopbackPort', () => {
  let srv: Server | undefined;
  afterEach(() => new Promise<void>((r) => (srv ? srv.close(() => r()) : r())));
  const listen = (host: string) =>
    new Promise<number>((resolve, reject) => {
      srv = createServer();
      srv.once('error', reject);
      srv.listen({ port: 0, host }, () => resolve((srv!.address() as { port: number }).port));
    });

  it('sees a host program on 127.0.0.1', async () => {
    const port = await listen('127.0.0.1');
    expect(await hostHoldsLoopbackPort(port)).toBe(true);
  });
  it('sees a host program on ::1 only, where the host has IPv6', async () => {
    const port = await listen('::1').catch(() => undefined);
    if (port === undefined) return; // no IPv6 loopback here: nothing to hold
    expect(await hostHoldsLoopbackPort(port)).toBe(true);
  });
  it('finds a released port free', async () => {
    const port = await listen('127.0.0.1');
    await new Promise<void>((r) => srv!.close(() => r()));
    srv = undefined;
    expect(await hostHoldsLoopbackPort(port)).toBe(false);
  });
});
