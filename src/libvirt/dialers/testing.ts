// Test support for the dialers: a daemon that dies with our connection in its backlog.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';

// A listener that never accepts, in a single-threaded process (perl, which every Debian has): once it is a
// zombie its sockets are closed, so a connection left in its backlog has been reset by the kernel. (A
// multi-threaded process such as Node shows Z for its main thread while the others still hold its sockets.)
const NEVER_ACCEPTS = `
use Socket;
socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
bind($s, pack_sockaddr_un($ARGV[0])) or die "bind: $!";
listen($s, 5) or die "listen: $!";
$| = 1;
print "up\\n";
sleep 600;
`;

/** Starts a listener at `path` that never accepts; resolves once it listens. */
export async function neverAccepting(path: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn('perl', ['-e', NEVER_ACCEPTS, path]);
  child.stderr.pipe(process.stderr);
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`the listener exited (${code}) before listening`)));
  });
  return child;
}

/**
 * Kills the listener and blocks until its sockets are closed, without letting the event loop run: a connect()
 * issued just before is still waiting for libuv's check, which then finds the reset.
 */
export function killBeforeTheLoopRuns(listener: ChildProcessWithoutNullStreams): void {
  listener.kill('SIGKILL');
  const stateOf = () => readFileSync(`/proc/${listener.pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
  while (stateOf() !== 'Z') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
}
