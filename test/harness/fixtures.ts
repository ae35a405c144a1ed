// The guest fixtures built by scripts/build-test-guests.sh, located through its manifest.
//
// As root the fixtures are built into the test user's own ~/.cache so that QEMU, running as that user, can
// read them; as a normal user they are in that user's ~/.cache. ROOST_TEST_GUESTS_DIR overrides both.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestUser } from './test-user.js';

export interface TinyGuest {
  dir: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  /** Printed on the serial console when the guest's servers are up: `ROOST-TINY-READY ip=…`. */
  readyMarker: string;
}

export interface DebianGuest {
  dir: string;
  disk: string;
  format: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  user?: string;
}

export interface GuestManifest {
  tiny?: TinyGuest;
  debian?: DebianGuest;
}

export function guestsDir(user: TestUser): string {
  return process.env.ROOST_TEST_GUESTS_DIR ?? join(user.home, '.cache', 'roost', 'test-guests');
}

export function readManifest(user: TestUser): GuestManifest {
  const file = join(guestsDir(user), 'manifest.json');
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as GuestManifest;
}

export function tinyGuest(user: TestUser): TinyGuest {
  const g = readManifest(user).tiny;
  if (!g)
    throw new Error(
      `tiny guest not built: run 'npm run fixtures -- --only tiny' (looked in ${guestsDir(user)})`,
    );
  return g;
}

export function debianGuest(user: TestUser): DebianGuest {
  const g = readManifest(user).debian;
  if (!g)
    throw new Error(
      `Debian guest not built: run 'npm run fixtures -- --only debian' (looked in ${guestsDir(user)})`,
    );
  return g;
}

/**
 * `roost create` options that boot the Debian guest fixture's kernel with the size its tests give it.
 *
 * One vCPU, like the tiny guest. With two, this host's QEMU (10.0, TCG, `-cpu max`) now and then wedges the guest
 * for good: both vCPUs halted with interrupts on, and vCPU 0's local APIC still holding its timer vector in
 * service (ISR 236, PPR 0xe0), so no interrupt reaches it again: the EOI was lost. It struck in the initrd of a
 * first boot (a reboot that never came back, another day, was most likely the same), about once in 20–40 boots,
 * and the test then waited 15 minutes for nothing. The tiny guest's single vCPU has never done it.
 */
export function debianCreateArgs(guest: DebianGuest): string[] {
  return [
    '--kernel',
    guest.kernel,
    '--initrd',
    guest.initrd,
    '--cmdline',
    guest.cmdline,
    '--memory',
    '1G',
    '--cpus',
    '1',
  ];
}

/** `roost create` arguments that boot the tiny guest: its kernel and initrd, 256 MiB, one vCPU. */
export function tinyCreateArgs(guest: TinyGuest): string[] {
  return [
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
  ];
}

/**
 * One document of a roost VM file that makes the tiny guest as tinyCreateArgs does, with a 64 MiB disk and the
 * given forwards (`roost apply`; docs/apply.md). No trailing newline: join documents with `\n---\n`.
 */
export function tinyVmDocument(
  guest: TinyGuest,
  name: string,
  opts: { ports?: string[]; kernel?: string } = {},
): string {
  return [
    `name: ${name}`,
    'kernel:',
    `  path: ${JSON.stringify(opts.kernel ?? guest.kernel)}`,
    `  initrd: ${JSON.stringify(guest.initrd)}`,
    `  cmdline: ${JSON.stringify(guest.cmdline)}`,
    'cpus: 1',
    'memory: 256M',
    'disk: 64M',
    'firmware: bios',
    'networks: [user]',
    ...(opts.ports === undefined ? [] : [`ports: [${opts.ports.map((p) => JSON.stringify(p)).join(', ')}]`]),
  ].join('\n');
}

/** `roost image import` arguments that make the Debian guest's disk an image named `as` (BIOS, its login user). */
export function debianImportArgs(guest: DebianGuest, as: string): string[] {
  return ['image', 'import', guest.disk, '--as', as, '--user', guest.user ?? 'debian', '--firmware', 'bios'];
}
