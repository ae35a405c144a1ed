// Whether the sockets libvirt makes for a VM have room for their paths.
//
// The session daemon keeps them under $XDG_RUNTIME_DIR/libvirt (else ~/.cache/libvirt), e.g. a passt NIC's
// …/libvirt/qemu/run/passt/1-web-net0.socket. Debian 12's passt keeps only the first 98 characters of that path
// and says nothing: it listens on the cut name, QEMU never reaches it, and the guest gets no DHCP lease while
// the port forwards look healthy (found by our benchmark, whose private daemon had a long runtime dir). With
// /run/user/UID this never happens; a long XDG_RUNTIME_DIR (or a home-based fallback) can.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult } from './types.js';

/** What Debian 12's passt (2023-03-09) keeps of its --socket path. */
export const PASST_SOCKET_PATH_MAX = 98;
/** libvirt names sockets by the domain's short name: its id, '-', the first 20 characters of its name. */
const SHORT_NAME_CHARS = 20;
/** Domain ids grow by one per start while the daemon runs; three digits is a long-lived session daemon. */
const ID_DIGITS = 3;
const PASST_DIR = '/libvirt/qemu/run/passt/';
const NIC_SUFFIX = '-net0.socket';

/** The session daemon's runtime directory, as libvirt (GLib) chooses it. */
export function sessionRuntimeBase(env: NodeJS.ProcessEnv): string {
  return env.XDG_RUNTIME_DIR || env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
}

/** The longest VM name whose passt socket path still fits, or a negative number when none does. */
export function longestSafeName(base: string): number {
  const fixed = base.length + PASST_DIR.length + ID_DIGITS + 1 + NIC_SUFFIX.length;
  return PASST_SOCKET_PATH_MAX - fixed;
}

export function socketPathCheck(
  env: NodeJS.ProcessEnv,
  uid: number,
  dirExists: (path: string) => boolean = existsSync,
): CheckResult {
  const base = sessionRuntimeBase(env);
  const room = longestSafeName(base);
  const result = { id: 'socket-paths', title: 'room for socket paths' };
  if (room >= SHORT_NAME_CHARS) {
    return { ...result, status: 'ok', detail: `${base}/libvirt: any VM name fits passt's socket path` };
  }
  const userDir = `/run/user/${uid}`;
  const fix =
    uid >= 0 && base !== userDir && dirExists(userDir) ? `export XDG_RUNTIME_DIR=${userDir}` : undefined;
  const what =
    room < 1
      ? 'no VM can have passt networking'
      : `a VM named with more than ${room} characters gets no network from passt`;
  return {
    ...result,
    status: room < 1 ? 'fail' : 'warn',
    detail:
      `${base} is long: passt keeps only ${PASST_SOCKET_PATH_MAX} characters of its socket path under it, so ` +
      `${what} (silently: its port forwards still listen); a shorter XDG_RUNTIME_DIR fixes it`,
    ...(fix ? { fix } : {}),
  };
}
