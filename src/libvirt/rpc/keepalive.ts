// libvirt's keepalive program: the daemon PINGs a silent client and expects a PONG; a client may PING too.
// KeepaliveProbe is the client's side of the probing: after each silent interval a PING, and after `maxMissed`
// silent intervals the connection is declared dead.

import {
  KeepaliveProc,
  MessageStatus,
  MessageType,
  PROTOCOL_VERSION,
  Program,
  encodePacket,
} from './packet.js';

export interface KeepaliveOptions {
  /** Silence (ms) after which a PING is sent. */
  intervalMs: number;
  /** Silent intervals tolerated before the connection is declared dead. */
  maxMissed: number;
}

export interface KeepaliveHooks {
  /** True while silence proves nothing (a slow stream consumer holds the socket paused). */
  excused(): boolean;
  ping(): void;
  dead(): void;
}

export class KeepaliveProbe {
  private heard = false;
  private missed = 0;
  private readonly timer: NodeJS.Timeout;

  constructor({ intervalMs, maxMissed }: KeepaliveOptions, hooks: KeepaliveHooks) {
    this.timer = setInterval(() => {
      if (this.heard || hooks.excused()) {
        this.heard = false;
        this.missed = 0;
        return;
      }
      if (this.missed >= maxMissed) return hooks.dead();
      this.missed++;
      hooks.ping();
    }, intervalMs);
    this.timer.unref();
  }

  /** Something arrived from the daemon: it is alive. */
  heardFrom(): void {
    this.heard = true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A keepalive MESSAGE (PING or PONG): serial 0, no payload. */
export function keepalivePacket(proc: (typeof KeepaliveProc)[keyof typeof KeepaliveProc]): Buffer {
  return encodePacket({
    prog: Program.KEEPALIVE,
    vers: PROTOCOL_VERSION,
    proc,
    type: MessageType.MESSAGE,
    serial: 0,
    status: MessageStatus.OK,
  });
}
