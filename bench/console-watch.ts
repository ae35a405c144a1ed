// When did the guest print a line? A watcher for bench/boot-ssh.ts that reads what a VM's serial log file has
// grown by every few milliseconds and notes the moment a pattern first appears in it: the host's clock for an
// event inside the guest. cloud-init prints its final message on the console ("Cloud-init v. 22.4.2 finished at
// …") at the end of its last stage, just before it writes the records `cloud-init status` reads: the guest is
// ready from about then, so roost's ready moment minus this one is how late roost says so.
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/** cloud-init's default final message (cc_final_message), whatever its version. */
export const CLOUD_INIT_FINISHED = /Cloud-init v\. \S+ finished at /;

export interface ConsoleSeen {
  /** `performance.now()` when the read that found the pattern returned. */
  at: number;
  line: string;
}

export interface ConsoleWatch {
  /** The first match; undefined when the watch was stopped before any. Never rejects. */
  seen: Promise<ConsoleSeen | undefined>;
  stop(): void;
}

/** The longest line kept between reads, so that a line split across two reads still matches. */
const CARRY = 4096;

/**
 * Watches `path` (which may not exist yet) for `pattern` in what is written to it from now on: one read of what
 * was added every `intervalMs`. What the file already holds (an earlier VM's log of the same name) does not count;
 * a file truncated or replaced meanwhile is read from its start. The reported moment is at most `intervalMs` (plus
 * a busy event loop) after the line reached the file.
 */
export function watchConsole(path: string, pattern: RegExp, intervalMs = 10): ConsoleWatch {
  const now = statOrUndefined(path);
  let offset = now?.size ?? 0;
  let identity = now && identityOf(now);
  let carry = '';
  let timer: NodeJS.Timeout | undefined;
  let settle: (s: ConsoleSeen | undefined) => void = () => {};
  const seen = new Promise<ConsoleSeen | undefined>((resolve) => (settle = resolve));
  const buf = Buffer.alloc(64 * 1024);
  const readNew = (): string => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return '';
    }
    let text = '';
    try {
      const st = fstatSync(fd);
      if (identityOf(st) !== identity || st.size < offset) {
        identity = identityOf(st);
        offset = 0;
        carry = '';
      }
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        text += buf.toString('latin1', 0, n);
      }
    } finally {
      closeSync(fd);
    }
    return text;
  };
  const tick = () => {
    const added = readNew();
    const text = carry + added;
    const m = pattern.exec(text);
    if (m) {
      const lineStart = text.lastIndexOf('\n', m.index) + 1;
      const lineEnd = text.indexOf('\n', m.index);
      stop(text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).trim());
      return;
    }
    carry = text.slice(-CARRY);
    timer = setTimeout(tick, intervalMs);
  };
  const stop = (line?: string) => {
    clearTimeout(timer);
    settle(line === undefined ? undefined : { at: performance.now(), line });
  };
  tick();
  return { seen, stop: () => stop() };
}

/** A file's identity: its inode, and its birth time, since a new file may get the inode of one just removed. */
const identityOf = (st: { ino: number; birthtimeMs: number }) => `${st.ino}:${st.birthtimeMs}`;

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
