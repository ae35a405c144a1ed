// The host's listening sockets, from /proc/net: what a forward's passt added (port-check.ts unboundPorts) and who
// else holds a port.
//
// Why not simply read the whole files: /proc/net/tcp and tcp6 list every TCP socket of the network namespace, and
// the kernel walks its whole table of connections for each read (a large table on a host with much memory, and
// thousands of sockets on a busy one): reading them whole was a large part of what roost adds to a VM's start.
// Listening sockets come first in those files (the kernel lists its listening table before its table of
// connections), so they are read a line at a time and left at the first line past them: the kernel then walks
// only as far as the first connection. The UDP files have no such order, and are small: they are read whole.
import { close, closeSync, open, openSync, read, readFile, readFileSync, readSync } from 'node:fs';
import type { PortForward } from './port-spec.js';
import { procNetAddress } from './proc-net-tcp.js';

/** A socket listening on this host (TCP in LISTEN, UDP unconnected), from /proc/net. */
export interface HostListener {
  proto: 'tcp' | 'udp';
  address: string;
  port: number;
  uid: number;
  inode: number;
}

/** The files of /proc/net that list sockets: one per protocol and address family. */
export type ProcNetFile = 'tcp' | 'tcp6' | 'udp' | 'udp6';

const ALL_FILES: readonly ProcNetFile[] = ['tcp', 'tcp6', 'udp', 'udp6'];

const TCP_LISTEN = '0A';
/**
 * A connection being accepted: on kernels before 4.4 the listening part of the TCP files also lists these, after
 * their listener, so reading goes on past them.
 */
const TCP_SYN_RECV = '03';
const UDP_UNCONNECTED = '07';

/** Parses one /proc/net/{tcp,udp}{,6} file; lines that are not a listening socket are skipped. */
export function parseHostListeners(text: string, proto: 'tcp' | 'udp'): HostListener[] {
  const out: HostListener[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== (proto === 'tcp' ? TCP_LISTEN : UDP_UNCONNECTED)) continue;
    const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(cols[1]!);
    if (!m) continue;
    out.push({
      proto,
      address: procNetAddress(m[1]!),
      port: Number.parseInt(m[2]!, 16),
      uid: Number(cols[7]),
      inode: Number(cols[9]),
    });
  }
  return out;
}

/**
 * The listening sockets of this host's network namespace (the one passt runs in: the caller's), from the files
 * named (default: all four).
 */
export function hostListeners(
  procNet = '/proc/net',
  files: readonly ProcNetFile[] = ALL_FILES,
): HostListener[] {
  return files.flatMap((file) => {
    const path = `${procNet}/${file}`;
    return file.startsWith('tcp')
      ? parseHostListeners(readTcpListeners(path), 'tcp')
      : parseHostListeners(readWhole(path), 'udp');
  });
}

/**
 * hostListeners without blocking: the kernel's walk of its tables runs on libuv's threads, so a caller that reads
 * the listeners while it waits for the daemon (create reads them while the VM is defined) loses no time to it.
 */
export async function readHostListeners(
  procNet = '/proc/net',
  files: readonly ProcNetFile[] = ALL_FILES,
): Promise<HostListener[]> {
  const each = await Promise.all(
    files.map(async (file) => {
      const path = `${procNet}/${file}`;
      return file.startsWith('tcp')
        ? parseHostListeners(await readTcpListenersAsync(path), 'tcp')
        : parseHostListeners(await readWholeAsync(path), 'udp');
    }),
  );
  return each.flat();
}

/** The file of /proc/net that lists a listener: its protocol and address family. */
export function procNetFileOf(l: Pick<HostListener, 'proto' | 'address'>): ProcNetFile {
  return `${l.proto}${l.address.includes(':') ? '6' : ''}`;
}

/** The inodes of every listening socket now: what a start is compared with afterwards. */
export function listenerInodes(listeners: readonly HostListener[] = hostListeners()): Set<number> {
  return new Set(listeners.map((l) => l.inode));
}

/** The files in which a socket listening for these forwards appears: each forward's protocol and address family. */
export function procNetFilesFor(forwards: readonly PortForward[]): ProcNetFile[] {
  const files = new Set<ProcNetFile>();
  for (const f of forwards) files.add(procNetFileOf(f));
  return [...files];
}

function readWhole(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

/**
 * Bytes asked for per read: one line of /proc/net/tcp (the kernel pads them to 150). The kernel fills each read
 * as far as it can, walking on through its tables, so a small read stops it soon after the listening part.
 */
const READ_BYTES = 150;

/**
 * Takes a /proc/net/tcp{,6} file's bytes as they are read and says when it has seen the first line past the
 * listening sockets; `text` is then the whole lines up to there, header included. Shared by the blocking and the
 * non-blocking reader below, which only differ in how they get the bytes.
 */
class ListeningPartCursor {
  private text = '';
  private done = 0; // text before this offset is whole lines, looked at

  /** Adds bytes; true once the listening part is over and reading may stop. */
  push(chunk: string): boolean {
    this.text += chunk;
    for (let end = this.text.indexOf('\n', this.done); end >= 0; end = this.text.indexOf('\n', this.done)) {
      const line = this.text.slice(this.done, end);
      this.done = end + 1;
      if (pastListeners(line)) return true;
    }
    return false;
  }

  /** The whole lines read so far (all of the listening part once push said true). */
  get lines(): string {
    return this.text.slice(0, this.done);
  }
}

/** A /proc/net/tcp{,6} file up to the end of its listening sockets: the whole lines read, header included. */
function readTcpListeners(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  const buf = Buffer.allocUnsafe(READ_BYTES);
  const cursor = new ListeningPartCursor();
  try {
    for (let n = readSync(fd, buf, 0, READ_BYTES, null); n > 0; n = readSync(fd, buf, 0, READ_BYTES, null)) {
      if (cursor.push(buf.toString('latin1', 0, n))) break;
    }
  } catch {
    // Read what could be read (a file that vanished with its namespace reads as empty).
  } finally {
    closeSync(fd);
  }
  return cursor.lines;
}

// The callback API of node:fs, already loaded, rather than node:fs/promises, which would load (and compile) a
// dozen more of Node's own modules on the way of every start.

function readWholeAsync(path: string): Promise<string> {
  return new Promise((resolve) => readFile(path, 'latin1', (err, text) => resolve(err ? '' : text)));
}

/** readTcpListeners on libuv's threads. */
async function readTcpListenersAsync(path: string): Promise<string> {
  const fd = await new Promise<number | undefined>((resolve) =>
    open(path, 'r', (err, fd) => resolve(err ? undefined : fd)),
  );
  if (fd === undefined) return '';
  const buf = Buffer.allocUnsafe(READ_BYTES);
  const readMore = () =>
    new Promise<number>((resolve) => read(fd, buf, 0, READ_BYTES, null, (err, n) => resolve(err ? 0 : n)));
  const cursor = new ListeningPartCursor();
  try {
    // As readTcpListeners: an error ends the reading with what could be read.
    for (let n = await readMore(); n > 0; n = await readMore()) {
      if (cursor.push(buf.toString('latin1', 0, n))) break;
    }
  } finally {
    close(fd, () => {});
  }
  return cursor.lines;
}

/** A line of a TCP file that is neither the header nor a listening socket (or a connection being accepted). */
function pastListeners(line: string): boolean {
  const cols = line.trim().split(/\s+/);
  if (cols.length < 4 || cols[0] === 'sl') return false;
  return cols[3] !== TCP_LISTEN && cols[3] !== TCP_SYN_RECV;
}
