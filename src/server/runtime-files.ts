// The files a running `roost web` leaves for its user, all in roost's private runtime directory
// ($XDG_RUNTIME_DIR/roost, else ~/.cache/roost/run; 0700, checked to be the user's own):
//
// - web-PORT.token  (0600) the API token as a curl header line: `curl -H @FILE http://127.0.0.1:PORT/api/vms`.
//                    A secret never goes on a command line: every local user can read /proc/PID/cmdline.
// - web-PORT.json   (0600) {port, origin, pid, tokenFile, unix}: how `roost web link` finds the server.
// - open-*.html     (0600) a page that redirects a browser to a one-time login link (`--open`): the browser's
//                    argv carries this file's path, not the secret. Removed once the link is used or expired.
// All are removed when the server stops.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { RoostError } from '../errors.js';
import { roostPaths } from '../paths.js';
import { processRuns } from '../process-runs.js';

export interface ServerRecord {
  port: number;
  origin: string;
  pid: number;
  /** The API token's file (a curl header line). */
  tokenFile: string;
  unix: string | null;
}

/** roost's per-user runtime directory (the one VNC sockets live in). */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  return roostPaths(env).sockets;
}

export class RuntimeDirError extends RoostError {
  constructor(dir: string, why: string) {
    super('RUNTIME_DIR_UNSAFE', `cannot keep roost web's secrets in ${dir}: ${why}`, {
      hint: `remove ${dir} (roost makes it again, private), or set XDG_RUNTIME_DIR to a directory of your own`,
    });
  }
}

/** Makes `dir` (0700) or checks that the one there is a real directory of ours that no one else can enter. */
export function ensurePrivateRuntimeDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new RuntimeDirError(dir, 'it is not a directory (a symlink?)');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new RuntimeDirError(dir, `it belongs to uid ${st.uid}, not to you (uid ${uid})`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/** Writes a new 0600 file; whatever was at `path` (a stale file, a planted symlink) is replaced, not followed. */
export function writePrivateFile(path: string, content: string): void {
  removeFile(path);
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
}

export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export const tokenFileName = (port: number) => `web-${port}.token`;
export const recordFileName = (port: number) => `web-${port}.json`;

/** The token file's content: one header line, as `curl -H @FILE` reads it. */
export function tokenFileContent(token: string): string {
  return `Authorization: Bearer ${token}\n`;
}

/** The token from a token file's content; null when it is not one. */
export function parseTokenFile(content: string): string | null {
  const m = /^Authorization: Bearer ([A-Za-z0-9_-]+)\r?\n?$/.exec(content);
  return m ? m[1]! : null;
}

/** Writes the token and record files of a server; returns a function that removes them. */
export function writeServerFiles(
  dir: string,
  server: { port: number; origin: string; token: string; unix: string | null },
): { tokenFile: string; recordFile: string; remove(): void } {
  ensurePrivateRuntimeDir(dir);
  const tokenFile = join(dir, tokenFileName(server.port));
  const recordFile = join(dir, recordFileName(server.port));
  writePrivateFile(tokenFile, tokenFileContent(server.token));
  const record: ServerRecord = {
    port: server.port,
    origin: server.origin,
    pid: process.pid,
    tokenFile,
    unix: server.unix,
  };
  writePrivateFile(recordFile, JSON.stringify(record) + '\n');
  return {
    tokenFile,
    recordFile,
    remove() {
      removeFile(recordFile);
      removeFile(tokenFile);
    },
  };
}

/** A 0600 page that sends a browser on to `url` (a login link) without the link ever being in argv. */
export function writeOpenerPage(dir: string, url: string): string {
  ensurePrivateRuntimeDir(dir);
  const path = join(dir, `open-${randomBytes(9).toString('base64url')}.html`);
  const target = JSON.stringify(url).replace(/</g, '\\u003c');
  writePrivateFile(
    path,
    `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>roost web</title>\n` +
      `<script>location.replace(${target})</script>\n`,
  );
  return path;
}

/** The servers whose record files are in `dir` and whose process still runs; stale records are removed. */
export function findServers(dir: string): ServerRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: ServerRecord[] = [];
  for (const name of names.filter((n) => /^web-\d+\.json$/.test(n)).sort()) {
    const path = join(dir, name);
    const record = readRecord(path);
    if (!record) continue;
    if (processRuns(record.pid)) found.push(record);
    else {
      removeFile(path);
      if (record.tokenFile.startsWith(dir + '/')) removeFile(record.tokenFile);
    }
  }
  return found;
}

function readRecord(path: string): ServerRecord | null {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServerRecord>;
    return typeof r.port === 'number' &&
      typeof r.origin === 'string' &&
      typeof r.pid === 'number' &&
      typeof r.tokenFile === 'string'
      ? { port: r.port, origin: r.origin, pid: r.pid, tokenFile: r.tokenFile, unix: r.unix ?? null }
      : null;
  } catch {
    return null;
  }
}
