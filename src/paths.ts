// Where roost keeps a user's files, following the XDG base directories like libvirt's session mode does.
// Everything here is private to the user: directories 0700, files 0600 (docs/architecture.md, Invariants).
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface RoostPaths {
  /** ~/.local/share/roost: disks (the storage pool), generated seeds, the ssh key roost makes. */
  data: string;
  /** ~/.local/state/roost: logs, e.g. each VM's serial console log. */
  state: string;
  /** ~/.cache/roost: downloaded images, probe results. */
  cache: string;
  /** ~/.config/roost: user configuration (images.yaml). */
  config: string;
  /** The directory behind roost's libvirt storage pool. */
  pool: string;
  /** Serial console logs, one file per VM. */
  logs: string;
  /** UNIX sockets of VNC consoles, one per running VM (under the runtime dir: short, private, gone at reboot). */
  sockets: string;
}

export function roostPaths(env: NodeJS.ProcessEnv = process.env): RoostPaths {
  const home = env.HOME || homedir();
  const data = join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'roost');
  const state = join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'roost');
  const cache = join(env.XDG_CACHE_HOME || join(home, '.cache'), 'roost');
  const config = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'roost');
  const runtime = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'roost') : join(cache, 'run');
  return {
    data,
    state,
    cache,
    config,
    pool: join(data, 'pool'),
    logs: join(state, 'logs'),
    sockets: runtime,
  };
}

/** Creates a directory (and parents) private to the user. */
export function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
