import { describe, expect, it } from 'vitest';
import { listeningPorts, parseProcNetTcp } from './proc-net-tcp.js';

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
