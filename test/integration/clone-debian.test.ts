// roost clone and roost edit --disk in the Debian cloud guest (systemd, cloud-init, sshd): a clone of a shut-off
// VM boots as a machine of its own — a new /etc/machine-id, new ssh host keys, its own known_hosts entry — and
// answers on its own forwarded port; its disk, grown with `edit --disk +N` before its first boot, shows in the
// guest as a bigger / (cloud-init's resizefs at every boot). One boot of the source, one of the clone.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roostPaths } from '../../src/paths.js';
import {
  createScope,
  debianCreateArgs,
  debianGuest,
  freePort,
  harness,
  roost,
  roostJson,
  run,
  runAs,
  userEnv,
  type RunResult,
} from '../harness/index.js';

const { user, uri } = harness();
const scope = createScope('clone-debian', user, uri);
const guest = debianGuest(user);
const paths = roostPaths(userEnv(user));
const knownHosts = join(paths.data, 'ssh', 'known_hosts');
const login = guest.user ?? 'debian';
const image = scope.name('img');
const src = scope.name('src');
const dst = scope.name('dst');
const GiB = 1024 ** 3;
const text = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** What makes a guest itself, read in the guest, and how the host sees it. */
interface Identity {
  machineId: string;
  /** The guest's ed25519 host key, "ssh-ed25519 AAAA…". */
  hostKey: string;
  /** The key roost's known_hosts holds under NAME.roost. */
  knownKey: string;
  /** Size of the guest's / in bytes (df). */
  rootBytes: number;
  /** The host port forwarded to guest port 22. */
  sshPort: number;
}

async function ok(args: string[], timeoutMs = 120_000): Promise<RunResult> {
  const r = await roost(user, args, { timeoutMs });
  expect(r.code, `roost ${args.join(' ')}\n${text(r)}`).toBe(0);
  return r;
}

const keyOf = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(' ');

/** The keys roost's known_hosts holds for NAME.roost (found by ssh-keygen, hashed or not). */
async function knownKeysOf(name: string): Promise<string[]> {
  const r = await runAs(user, 'ssh-keygen', ['-F', `${name}.roost`, '-f', knownHosts], { check: false });
  return r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => keyOf(l.slice(l.indexOf(' ') + 1)));
}

async function knownKeyOf(name: string): Promise<string> {
  const keys = await knownKeysOf(name);
  expect(keys, `known_hosts entries of ${name}.roost`).toHaveLength(1);
  return keys[0]!;
}

/**
 * A hashed known_hosts line for NAME.roost with a key no guest has: what a removed VM of that name leaves on a host
 * whose ssh_config hashes known_hosts (Debian's does). Left there, it would fail every login to the clone.
 */
async function plantStaleKey(name: string): Promise<string> {
  const key = join(scope.dir, 'stale');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const stale = keyOf(readFileSync(`${key}.pub`, 'utf8'));
  const lines = join(scope.dir, 'stale_known_hosts');
  writeFileSync(lines, `${name}.roost ${stale}\n`);
  await run('ssh-keygen', ['-H', '-f', lines]);
  appendFileSync(knownHosts, readFileSync(lines));
  return stale;
}

async function identityOf(name: string, sshPort: number): Promise<Identity> {
  const files = await ok(['ssh', name, '--', 'cat', '/etc/machine-id', '/etc/ssh/ssh_host_ed25519_key.pub']);
  const [machineId, pub] = files.stdout.trim().split('\n');
  const df = await ok(['ssh', name, '--', 'df', '-B1', '--output=size', '/']);
  return {
    machineId: machineId!.trim(),
    hostKey: keyOf(pub!),
    knownKey: await knownKeyOf(name),
    rootBytes: Number(df.stdout.trim().split('\n')[1]),
    sshPort,
  };
}

/** The host port of the forward to guest port 22 among forwards as printed ("127.0.0.1:2222:22/tcp"). */
function sshPortOf(forwards: string[]): number {
  const f = forwards.find((p) => /:22(\/tcp)?$/.test(p));
  expect(f, forwards.join(', ')).toBeDefined();
  return Number(/(\d+):22(\/tcp)?$/.exec(f!)![1]);
}

let source: Identity;
let clone: Identity;
let grown: { changed: string[] };
let staleKey: string;

beforeAll(async () => {
  await ok(['image', 'import', guest.disk, '--as', image, '--user', login, '--firmware', 'bios']);
  const srcPort = await freePort();
  await ok(
    [
      'create',
      src,
      '--image',
      image,
      ...debianCreateArgs(guest),
      '--port',
      `127.0.0.1:${srcPort}:22`,
      '--wait',
      'ssh',
      '--wait-timeout',
      '900',
    ],
    960_000,
  );
  source = await identityOf(src, srcPort);
  // A clean shutdown: the clone copies a disk the guest has finished writing.
  await ok(['stop', src, '--timeout', '300'], 320_000);

  staleKey = await plantStaleKey(dst);
  expect(await knownKeysOf(dst)).toEqual([staleKey]);
  const made = await roostJson<{ ports: string[]; chosenPorts: string[] }>(user, ['clone', src, dst], {
    timeoutMs: 600_000,
  });
  grown = await roostJson<{ changed: string[] }>(user, ['edit', dst, '--disk', '+2G']);
  await ok(['start', dst, '--wait', 'ssh', '--wait-timeout', '900'], 960_000);
  clone = await identityOf(dst, sshPortOf(made.ports));
}, 2_400_000);

afterAll(async () => {
  await roost(user, ['rm', '--force', dst]);
  await roost(user, ['rm', '--force', src]);
  await roost(user, ['image', 'rm', image]);
  await scope.cleanup();
});

describe('a clone of a Debian cloud guest', () => {
  it('has a machine-id of its own', () => {
    expect(source.machineId).toMatch(/^[0-9a-f]{32}$/);
    expect(clone.machineId).toMatch(/^[0-9a-f]{32}$/);
    expect(clone.machineId).not.toBe(source.machineId);
  });

  it('has new ssh host keys, and its own known_hosts entry beside the source’s', async () => {
    expect(clone.hostKey).toMatch(/^ssh-ed25519 /);
    expect(clone.hostKey).not.toBe(source.hostKey);
    expect(source.knownKey).toBe(source.hostKey);
    // The clone's one entry is the key it showed; a stale hashed line of its name went at clone time.
    expect(clone.knownKey).toBe(clone.hostKey);
    expect(clone.knownKey).not.toBe(staleKey);
    expect(await knownKeysOf(src)).toEqual([source.hostKey]);
  });

  it('answers on its own forwarded port with its own key', async () => {
    expect(clone.sshPort).not.toBe(source.sshPort);
    // Plain ssh to the port roost printed, with a known_hosts of its own: what answers shows the clone's key and
    // is the clone.
    const known = join(scope.dir, 'port_known_hosts');
    const r = await runAs(
      user,
      'ssh',
      [
        '-p',
        String(clone.sshPort),
        '-i',
        join(paths.data, 'ssh', 'id_ed25519'),
        ...['-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60'],
        ...['-o', `UserKnownHostsFile=${known}`, '-o', 'StrictHostKeyChecking=accept-new'],
        ...['-o', 'HostKeyAlgorithms=ssh-ed25519', '-o', 'HashKnownHosts=no'],
        `${login}@127.0.0.1`,
        'cat',
        '/etc/machine-id',
      ],
      { check: false, timeoutMs: 120_000 },
    );
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout.trim()).toBe(clone.machineId);
    expect(keyOf(readFileSync(known, 'utf8').split(' ').slice(1).join(' '))).toBe(clone.hostKey);
  }, 180_000);

  it('boots with / grown by the disk edit --disk +2G added before its first boot', () => {
    // create gave the source roost's default 20 GiB disk (the image is 3 GiB).
    expect(grown.changed).toEqual(["disk 20 GiB → 22 GiB (the guest's root grows at its next boot)"]);
    // resize2fs leaves a little for its own metadata: the file system grows by nearly all of the 2 GiB.
    expect(clone.rootBytes - source.rootBytes).toBeGreaterThan(1.8 * GiB);
    expect(clone.rootBytes - source.rootBytes).toBeLessThanOrEqual(2 * GiB);
  });
});
