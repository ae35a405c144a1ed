// Network namespaces the tests create for themselves: a bridge with dnsmasq (DHCP, a lease file) and the
// ability to run any command — including the test user's session daemon — inside. Traffic to the guests on
// the bridge never leaves the namespace (the network rule in test/harness/README.md, Rules). Needs root.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from './processes.js';
import { run, type RunOptions, type RunResult } from './run.js';
import { userEnv } from './run.js';
import type { TestUser } from './test-user.js';

export interface NetnsOptions {
  /** Bridge name inside the namespace (default `roostbr0`). */
  bridge?: string;
  /** First three octets of the /24 on the bridge (default `10.213.7`): private to the namespace. */
  subnet?: string;
  /** Start dnsmasq on the bridge (default true). */
  dhcp?: boolean;
}

export interface Netns {
  name: string;
  bridge: string;
  /** The bridge's own address: the guests' gateway and DHCP server. */
  gateway: string;
  leaseFile: string;
  /** Runs a command inside the namespace, as root or — with `as` — as the test user (setpriv, no shell). */
  exec(cmd: string, args: readonly string[], opts?: RunOptions & { as?: TestUser }): Promise<RunResult>;
  /** argv that runs a command inside the namespace, for long-running children the caller spawns itself. */
  argv(cmd: string, args: readonly string[], as?: TestUser): string[];
  /** DHCP leases currently in dnsmasq's lease file. */
  leases(): { mac: string; ip: string; hostname: string }[];
  destroy(): Promise<void>;
}

export async function createNetns(opts: NetnsOptions = {}): Promise<Netns> {
  if (process.getuid?.() !== 0)
    throw new Error('network namespaces need root: run the tests as root (CI does)');
  const name = `roost-t-${randomBytes(3).toString('hex')}`;
  const bridge = opts.bridge ?? 'roostbr0';
  const subnet = opts.subnet ?? '10.213.7';
  const gateway = `${subnet}.1`;
  const work = mkdtempSync(join(tmpdir(), `${name}-`));
  chmodSync(work, 0o755);
  const leaseFile = join(work, 'dnsmasq.leases');
  let dnsmasq: ChildProcess | undefined;

  const ip = (...args: string[]) => run('ip', args);
  await ip('netns', 'add', name);
  try {
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    await ip('-n', name, 'link', 'add', bridge, 'type', 'bridge');
    await ip('-n', name, 'addr', 'add', `${gateway}/24`, 'dev', bridge);
    await ip('-n', name, 'link', 'set', bridge, 'up');
    if (opts.dhcp ?? true) {
      dnsmasq = spawn(
        'ip',
        [
          'netns',
          'exec',
          name,
          'dnsmasq',
          '--keep-in-foreground',
          '--conf-file=/dev/null',
          '--port=0',
          '--bind-interfaces',
          `--interface=${bridge}`,
          '--except-interface=lo',
          `--dhcp-range=${subnet}.10,${subnet}.99,255.255.255.0,1h`,
          `--dhcp-leasefile=${leaseFile}`,
          '--dhcp-authoritative',
          `--pid-file=${join(work, 'dnsmasq.pid')}`,
        ],
        { stdio: 'ignore' },
      );
      if (!(await waitUntil(() => existsSync(join(work, 'dnsmasq.pid')), 5_000))) {
        throw new Error('dnsmasq did not start inside the namespace');
      }
    }
  } catch (e) {
    dnsmasq?.kill('SIGKILL');
    await run('ip', ['netns', 'del', name], { check: false });
    rmSync(work, { recursive: true, force: true });
    throw e;
  }

  const argv = (cmd: string, args: readonly string[], as?: TestUser): string[] => {
    const inner = as
      ? [
          'setpriv',
          `--reuid=${as.uid}`,
          `--regid=${as.gid}`,
          '--clear-groups',
          '--',
          'env',
          '-i',
          ...Object.entries(userEnv(as)).map(([k, v]) => `${k}=${v}`),
          cmd,
          ...args,
        ]
      : [cmd, ...args];
    return ['ip', 'netns', 'exec', name, ...inner];
  };

  return {
    name,
    bridge,
    gateway,
    leaseFile,
    argv,
    exec: (cmd, args, o = {}) => {
      const [head, ...rest] = argv(cmd, args, o.as);
      return run(head!, rest, o);
    },
    leases: () => {
      if (!existsSync(leaseFile)) return [];
      return readFileSync(leaseFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [, mac, ip, hostname] = l.split(' ');
          return { mac: mac ?? '', ip: ip ?? '', hostname: hostname ?? '' };
        });
    },
    destroy: async () => {
      dnsmasq?.kill('SIGTERM');
      // Killing every process still in the namespace keeps `ip netns del` from leaving a half-dead netns.
      const pids = await run('ip', ['netns', 'pids', name], { check: false });
      for (const pid of pids.stdout.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await run('ip', ['netns', 'del', name], { check: false });
      rmSync(work, { recursive: true, force: true });
    },
  };
}
