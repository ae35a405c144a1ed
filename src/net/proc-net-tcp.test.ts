import { describe, expect, it } from 'vitest';
import {
  listeningPorts,
  MAX_LINE_LENGTH,
  MAX_LINES,
  parseProcNetTcp,
  readListenersOutput,
  TCP6_MARKER,
} from './proc-net-tcp.js';

// Captured from a Debian guest (trimmed): sshd on 0.0.0.0:22, a server on 127.0.0.1:8000, one established.
const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 13911 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 20417 1 0000000000000000 100 0 0 10 0
   2: 0F02000A:0016 0202000A:C3A2 01 00000000:00000000 02:0004A3B0 00000000     0        0 20120 4 0000000000000000 20 4 29 10 -1
`;
const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 13913 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 20999 1 0000000000000000 100 0 0 10 0
`;

describe('parseProcNetTcp', () => {
  it('reads IPv4 listeners and skips other states', () => {
    expect(parseProcNetTcp(tcp, 'tcp')).toEqual([
      { family: 'tcp', address: '0.0.0.0', port: 22 },
      { family: 'tcp', address: '127.0.0.1', port: 8000 },
    ]);
  });
  it('reads IPv6 listeners, little-endian words included', () => {
    expect(parseProcNetTcp(tcp6, 'tcp6')).toEqual([
      { family: 'tcp6', address: '::', port: 22 },
      { family: 'tcp6', address: '::1', port: 9090 },
    ]);
  });
  it('never throws on garbage', () => {
    for (const junk of ['', 'x', 'header\n0: zz:zz 0 0A', 'h\n 0: 00000000:GGGG 00000000:0000 0A']) {
      expect(parseProcNetTcp(junk, 'tcp')).toEqual([]);
    }
  });
  it('lists distinct ports', () => {
    expect(listeningPorts([...parseProcNetTcp(tcp, 'tcp'), ...parseProcNetTcp(tcp6, 'tcp6')])).toEqual([
      22, 8000, 9090,
    ]);
  });
});

// The guest writes this text: it may be anything, of any size.
describe('hostile /proc/net/tcp output', () => {
  const header =
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
  const listenLine = (i: number, port: number) =>
    `${String(i).padStart(4)}: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0`;
  const output = (v4: string[], v6: string[] = []) =>
    [header, ...v4, TCP6_MARKER, header, ...v6, ''].join('\n');

  it('reads 100k lines without reading past its line limit, and says the answer is incomplete', () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => listenLine(i, 1024 + (i % 60000)));
    const started = Date.now();
    const r = readListenersOutput(output(lines), false);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.complete).toBe(false);
    expect(r.ports.length).toBeLessThanOrEqual(MAX_LINES);
  });

  it('ignores a huge line and keeps the real ones around it', () => {
    const huge = `   1: 00000000:1F90 00000000:0000 0A ${'0'.repeat(5_000_000)}`;
    const r = readListenersOutput(output([listenLine(0, 8000), huge, listenLine(2, 9000)]), false);
    expect(r).toEqual({ ports: [8000, 9000], complete: true });
  });

  it('ignores garbage, binary noise and port 0, and never throws', () => {
    const noise = Array.from({ length: 2000 }, (_, i) => String.fromCharCode((i * 7919) % 65536)).join('');
    const junk = [
      noise,
      '0: 00000000:0000 00000000:0000 0A',
      '0: 0000000:1F90 0 0A',
      '0: 00000000:1F90',
      '\u0000\u0000\n',
    ];
    const r = readListenersOutput(output([...junk, listenLine(5, 3000)], junk), false);
    expect(r).toEqual({ ports: [3000], complete: true });
  });

  it('reads 1000 listening ports as 1000 distinct ports', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => listenLine(i, 2000 + i));
    const r = readListenersOutput(
      output(
        lines.slice(0, 500),
        lines.slice(500).map((l) => l.replace('00000000:', '0'.repeat(32) + ':')),
      ),
      false,
    );
    expect(r.ports).toHaveLength(1000);
    expect(r.complete).toBe(true);
  });

  it('a cut-off answer, or one without the marker, is not complete', () => {
    expect(readListenersOutput(output([listenLine(0, 8000)]), true).complete).toBe(false);
    expect(readListenersOutput([header, listenLine(0, 8000)].join('\n'), false)).toEqual({
      ports: [8000],
      complete: false,
    });
  });

  it('skips lines longer than the limit', () => {
    const padded = listenLine(0, 8000) + ' '.repeat(MAX_LINE_LENGTH);
    expect(parseProcNetTcp(`${header}\n${padded}\n`, 'tcp')).toEqual([]);
  });
});
