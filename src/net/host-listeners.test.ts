import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  hostListeners,
  listenerInodes,
  procNetFileOf,
  procNetFilesFor,
  readHostListeners,
  type HostListener,
  type ProcNetFile,
} from './host-listeners.js';
import { parsePortForward } from './port-spec.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

/** A /proc/net/tcp line as the kernel writes it: padded to 149 characters. */
function tcpLine(
  sl: number,
  local: string,
  remote: string,
  state: string,
  uid: number,
  inode: number,
): string {
  const line = `${String(sl).padStart(4)}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
  return line.padEnd(149);
}

const dir = mkdtempSync(join(tmpdir(), 'roost-procnet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake /proc/net: tcp with the given lines after the header; the other files empty but for theirs. */
function procNet(tcpLines: string[], udp = ''): string {
  const d = mkdtempSync(join(dir, 'net-'));
  writeFileSync(join(d, 'tcp'), [HEADER.padEnd(149), ...tcpLines].map((l) => `${l}\n`).join(''));
  writeFileSync(join(d, 'tcp6'), `${HEADER}\n`);
  writeFileSync(join(d, 'udp'), udp);
  writeFileSync(join(d, 'udp6'), '');
  return d;
}

const listen = (sl: number, port: number, inode: number) =>
  tcpLine(
    sl,
    `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`,
    '00000000:0000',
    '0A',
    985,
    inode,
  );
const connection = (sl: number, inode: number, state = '01') =>
  tcpLine(sl, '0100007F:A02A', '0100007F:D2F0', state, 985, inode);

type Reader = (procNet?: string, files?: readonly ProcNetFile[]) => HostListener[] | Promise<HostListener[]>;

// The blocking reader (after a start) and the one on libuv's threads (before it) must see the same.
describe.each<[string, Reader]>([
  ['hostListeners', hostListeners],
  ['readHostListeners', readHostListeners],
])('%s', (_name, read) => {
  it('reads the listening sockets at the head of a TCP file and stops at the first connection after them', async () => {
    // The kernel lists its listening table first; a LISTEN line after a connection cannot occur, and is not read.
    const d = procNet([listen(0, 41001, 11), listen(1, 41002, 12), connection(2, 13), listen(3, 41003, 14)]);
    expect((await read(d)).map((l) => [l.port, l.inode])).toEqual([
      [41001, 11],
      [41002, 12],
    ]);
  });

  it('reads on past connections being accepted (listed among the listeners by kernels before 4.4)', async () => {
    const d = procNet([
      listen(0, 41001, 11),
      connection(1, 20, '03'),
      listen(2, 41002, 12),
      connection(3, 13),
    ]);
    expect((await read(d)).map((l) => l.port)).toEqual([41001, 41002]);
  });

  it('reads a file of listeners alone to its end, and the UDP files whole', async () => {
    const udp = `${HEADER}\n  5: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   985        0 777 2 0 0\n`;
    const d = procNet([listen(0, 41001, 11)], udp);
    expect((await read(d)).map((l) => [l.proto, l.port])).toEqual([
      ['tcp', 41001],
      ['udp', 5353],
    ]);
  });

  it('reads only the files asked for', async () => {
    const udp = `${HEADER}\n  5: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   985        0 777 2 0 0\n`;
    const d = procNet([listen(0, 41001, 11)], udp);
    expect((await read(d, ['udp'])).map((l) => l.port)).toEqual([5353]);
    expect(await read(join(d, 'missing'))).toEqual([]);
  });

  it('finds a socket listening on this host now, and its inode is among the listeners', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as { port: number }).port;
      const mine = (await read(undefined, ['tcp'])).filter((l) => l.port === port);
      expect(mine).toHaveLength(1);
      expect(listenerInodes().has(mine[0]!.inode)).toBe(true);
    } finally {
      srv.close();
    }
  });
});

describe('procNetFilesFor', () => {
  it('names the file of each forward’s protocol and address family, once', () => {
    const f = ['8080:80', '127.0.0.1:8081:81', '[::1]:8082:82', '5353:53/udp'].map(parsePortForward);
    expect(procNetFilesFor(f)).toEqual(['tcp', 'tcp6', 'udp']);
  });
});

describe('procNetFileOf', () => {
  it('names the file a listener was read from', () => {
    expect(procNetFileOf({ proto: 'tcp', address: '127.0.0.1' })).toBe('tcp');
    expect(procNetFileOf({ proto: 'tcp', address: '::' })).toBe('tcp6');
    expect(procNetFileOf({ proto: 'udp', address: '0.0.0.0' })).toBe('udp');
  });
});
