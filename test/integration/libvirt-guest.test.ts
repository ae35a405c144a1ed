// One tiny guest under TCG, driven through roost's libvirt client: define → start → getState → console →
// destroy → undefine, with the lifecycle events of each step read from `lifecycleEvents()` and the serial
// console read and typed into through `openConsole()`. One boot serves every assertion.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyDomainXml } from '../../scripts/lib/tiny-domain-xml.js';
import {
  DomainState,
  LibvirtError,
  LifecycleEventType,
  connect,
  isNotFound,
  type Domain,
  type LibvirtClient,
  type LifecycleEvent,
} from '../../src/index.js';
import { procedures } from '../../src/libvirt/procedures.js';
import { createScope, domainNames, harness, processesOf, tinyGuest, waitUntil } from '../harness/index.js';

const DESTROY_REMOVE_LOGS = 2;
const STOPPED_DESTROYED = 1; // VIR_DOMAIN_EVENT_STOPPED_DESTROYED
const STARTED_BOOTED = 0; // VIR_DOMAIN_EVENT_STARTED_BOOTED

const { user, uri } = harness();
const scope = createScope('lvguest', user, uri);
let client: LibvirtClient;

beforeAll(async () => {
  client = await connect(uri);
});
afterAll(async () => {
  await client?.close();
  await scope.cleanup();
});

/** Reads events of one domain from an iterator, with a deadline per event. */
class EventReader {
  private pending: Promise<IteratorResult<LifecycleEvent>> | null = null;
  constructor(
    private readonly it: AsyncIterableIterator<LifecycleEvent>,
    private readonly name: string,
  ) {}

  /** The next event of our domain, or null when none came within `ms`. */
  async next(ms: number): Promise<LifecycleEvent | null> {
    const end = Date.now() + ms;
    for (;;) {
      this.pending ??= this.it.next();
      const left = end - Date.now();
      if (left <= 0) return null;
      const r = await Promise.race([this.pending, sleep(left).then(() => 'timeout' as const)]);
      if (r === 'timeout') return null;
      this.pending = null;
      if (r.done) throw new Error('the event iterator ended');
      if (r.value.dom.name === this.name) return r.value;
    }
  }
}

/** Collects console output; `waitFor` resolves when a pattern shows up in what arrived after `from`. */
class ConsoleTap {
  text = '';
  constructor(readonly stream: Duplex) {
    stream.on('data', (b: Buffer) => (this.text += b.toString('latin1')));
  }
  async waitFor(re: RegExp, ms: number, from = 0): Promise<RegExpExecArray | null> {
    let m: RegExpExecArray | null = null;
    await waitUntil(() => (m = re.exec(this.text.slice(from))) !== null, ms, 50);
    return m;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('the tiny guest through the libvirt client', () => {
  it('defines, starts, talks on the console, destroys and undefines, with lifecycle events', async () => {
    const guest = tinyGuest(user);
    const name = scope.name('vm');
    const serialLog = join(scope.dir, `${name}.serial.log`);
    const xml = tinyDomainXml({
      name,
      kernel: guest.kernel,
      initrd: guest.initrd,
      cmdline: guest.cmdline,
      forwards: [],
      serialLog,
    });

    // Watch the register/deregister calls on the wire, to check later that the daemon dropped our callback.
    const rpc = await client.connection();
    const registered: number[] = [];
    const origCall = rpc.call.bind(rpc);
    rpc.call = ((procedure, value) => {
      const p = origCall(procedure, value);
      if (procedure === procedures.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY) {
        void p.then((r) => registered.push((r as { callbackID: number }).callbackID)).catch(() => {});
      }
      return p;
    }) as typeof rpc.call;

    const events = client.lifecycleEvents();
    const reader = new EventReader(events, name);

    // Registration happens on the first next(); we can't tell from outside when the daemon has it. So define
    // the domain, and redefine it until the DEFINED event comes through: from then on nothing is missed.
    let dom: Domain = await client.defineDomain(xml);
    const definedXml = await client.getXml(dom, 2); // INACTIVE: with the UUID the daemon gave it
    let first: LifecycleEvent | null = null;
    for (let i = 0; i < 50 && !first; i++) {
      first = await reader.next(200);
      if (!first) dom = await client.defineDomain(definedXml);
    }
    expect(first?.event).toBe(LifecycleEventType.DEFINED);
    expect(registered).toHaveLength(1);
    expect(await domainNames(uri)).toContain(name);
    expect((await client.getState(dom)).state).toBe(DomainState.SHUTOFF);
    // Each step may bring more than one event (a start is also a RESUMED from QEMU's initial pause; our
    // redefinitions above may still be in flight): read until the event the step must produce.
    const until = async (type: number, ms: number) => {
      const end = Date.now() + ms;
      for (;;) {
        const e = await reader.next(Math.max(1, end - Date.now()));
        if (!e || e.event === type) return e;
      }
    };

    // start → STARTED
    dom = await client.startDomain(dom);
    expect(dom.id).toBeGreaterThan(0);
    const started = await until(LifecycleEventType.STARTED, 30_000);
    expect(started).toMatchObject({ event: LifecycleEventType.STARTED, detail: STARTED_BOOTED });
    expect(started!.dom.uuid.equals(dom.uuid)).toBe(true);
    expect((await client.getState(dom)).state).toBe(DomainState.RUNNING);
    const qemu = processesOf(user.uid, /^qemu-system/).filter((p) => p.argv.some((a) => a.includes(name)));
    expect(qemu).toHaveLength(1);

    // console: the ready marker, then a command typed into the shell and its output read back.
    const tap = new ConsoleTap(await client.openConsole(dom));
    const ready = await tap.waitFor(new RegExp(`${guest.readyMarker} ip=\\S+`), 90_000);
    expect(ready, `no ready marker on the console; got: ${tap.text.slice(-500)}`).not.toBeNull();
    const token = randomBytes(4).toString('hex');
    // The shell expands $((6*7)); the echo of what we typed does not: seeing 42 proves the shell ran it.
    const command = `echo roost-$((6*7))-${token}\n`;
    let echoed: RegExpExecArray | null = null;
    for (let attempt = 0; attempt < 5 && !echoed; attempt++) {
      const from = tap.text.length;
      tap.stream.write(command);
      echoed = await tap.waitFor(new RegExp(`^roost-42-${token}\\r?$`, 'm'), 10_000, from);
    }
    expect(echoed, `command output not seen; console tail: ${tap.text.slice(-500)}`).not.toBeNull();
    expect(tap.text).toContain(`echo roost-$((6*7))-${token}`); // the tty echoed our typing too
    // Finish the console stream (STREAM/OK both ways) and check the connection is still fine.
    await new Promise<void>((resolve, reject) => {
      tap.stream.once('error', reject);
      tap.stream.once('finish', resolve);
      tap.stream.end();
    });
    expect((await client.getState(dom)).state).toBe(DomainState.RUNNING);

    // destroy → STOPPED
    await client.destroyDomain(dom, DESTROY_REMOVE_LOGS);
    const stopped = await until(LifecycleEventType.STOPPED, 30_000);
    expect(stopped).toMatchObject({ event: LifecycleEventType.STOPPED, detail: STOPPED_DESTROYED });
    expect((await client.getState(dom)).state).toBe(DomainState.SHUTOFF);
    expect(
      await waitUntil(
        () => processesOf(user.uid, /^qemu-system/).every((p) => p.pid !== qemu[0]!.pid),
        10_000,
      ),
    ).toBe(true);

    // return() ends the iterator and deregisters on the daemon: deregistering the same id again fails there.
    expect(await events.return!()).toEqual({ value: undefined, done: true });
    expect(await events.next()).toEqual({ value: undefined, done: true });
    const again = await client
      .call('CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY', { callbackID: registered[0]! })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(again).toBeInstanceOf(LibvirtError);
    expect((again as LibvirtError).message).toMatch(/callback/i);

    // undefine: gone for us and for virsh
    await client.undefineDomain(dom);
    rmSync(serialLog, { force: true });
    const gone = await client.lookupDomain(name).then(
      () => false,
      (e: unknown) => isNotFound(e),
    );
    expect(gone).toBe(true);
    expect(await domainNames(uri)).not.toContain(name);
  });
});
