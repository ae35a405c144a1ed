// The CLI's stdout and stderr. A command's result, its messages and commander's help go out with
// fs.writeSync; Node's stream objects (process.stdout/stderr) are made only for commands that stream
// (`logs -f`, `events`, `console`, progress bars), through stdoutStream()/stderrStream().
//
// Why: process.stdout is built on first use, and for a pipe (how a script, or the benchmark, reads `roost ip`)
// that is a net.Socket: loading net and the stream machinery and compiling their write path is a real cost to
// a command that prints a few hundred bytes once. Node writes to files and pipes synchronously on Linux anyway.
//
// A reader that went away (`roost ls | head -1`) is not worth a stack trace about EPIPE, whichever way the
// write was made:
//  - stdout carries the result: with nobody reading it, stop, with exit code 141 (128 + SIGPIPE: what a shell
//    reports for any tool whose output pipe closed under it, e.g. `yes | head -1`), never a false 0;
//  - stderr carries progress and warnings: stop writing there and let the command finish its work (a `create`
//    whose phase lines go nowhere still creates, or rolls back, and says which in its exit code).
import { writeSync } from 'node:fs';

/** Writes to one file descriptor: synchronously while it can, through a stream from the first time it must. */
export interface FdWriter {
  write(text: string): void;
  /** The stream for this fd (made now if need be), with the reader-gone handling. */
  stream(): NodeJS.WritableStream & { writableLength: number; destroyed: boolean };
  /** True while a stream holds data not yet written. */
  unflushed(): boolean;
}

type FdStream = ReturnType<FdWriter['stream']>;

/**
 * `makeStream` gives the fd's stream (process.stdout for fd 1); `readerGone` runs once the reader is gone.
 * Exported for tests, which hand it a FIFO of their own.
 */
export function createFdWriter(fd: number, makeStream: () => FdStream, readerGone: () => void): FdWriter {
  let stream: FdStream | undefined;
  let silenced = false;
  const gone = () => {
    silenced = true;
    if (stream) stream.write = () => true;
    readerGone();
  };
  const streamNow = (): FdStream => {
    if (stream) return stream;
    stream = makeStream();
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
      gone();
    });
    return stream;
  };
  return {
    write(text) {
      if (silenced) return;
      // Once a stream exists for this fd, everything goes through it: it may still hold earlier writes.
      if (stream) return void stream.write(text);
      const bytes = Buffer.from(text, 'utf8');
      let done = 0;
      while (done < bytes.length) {
        try {
          done += writeSync(fd, bytes, done);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // A non-blocking pipe or terminal that is full: the stream waits for room instead of failing.
          if (code === 'EAGAIN') return void streamNow().write(bytes.subarray(done));
          if (code === 'EPIPE') return gone();
          // Closed by the caller (`roost ls >&-`): Node's own stdout drops such writes too.
          if (code === 'EBADF') return void (silenced = true);
          throw e;
        }
      }
    },
    stream: streamNow,
    unflushed: () => !!stream && stream.writableLength > 0 && !stream.destroyed,
  };
}

const stdout = createFdWriter(
  1,
  () => process.stdout,
  () => process.exit(141),
);
const stderr = createFdWriter(
  2,
  () => process.stderr,
  () => {},
);

export const writeStdout = (text: string): void => stdout.write(text);
export const writeStderr = (text: string): void => stderr.write(text);

/** process.stdout, for commands that stream or pipe into it, with the reader-gone handling above. */
export const stdoutStream = (): NodeJS.WriteStream => stdout.stream() as NodeJS.WriteStream;

/** process.stderr, for progress bars and phase lines, with the reader-gone handling above. */
export const stderrStream = (): NodeJS.WriteStream => stderr.stream() as NodeJS.WriteStream;

/** The streams a command made that still hold unwritten data (main.ts waits for them before it exits). */
export function unflushedStreams(): NodeJS.WriteStream[] {
  const out: NodeJS.WriteStream[] = [];
  if (stdout.unflushed()) out.push(stdoutStream());
  if (stderr.unflushed()) out.push(stderrStream());
  return out;
}
