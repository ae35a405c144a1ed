// The All hosts view's feeds over fake daemons that speak the real wire protocol (src/libvirt/testing.ts), one
// per connection a host's feed opens: a listener gets every host's row, then each host's lifecycle events with
// the host's name; a host that cannot be reached or goes away is a row saying why and is dialled again after
// pauses that double up to a bound; the last listener to leave closes every connection.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openFakeLibvirt, type FakeLibvirt } from '../libvirt/testing.js';
import { LifecycleEventType } from '../libvirt/types.js';
import type { HostEvent, HostVms } from '../shared/hosts.js';
import { SHAPES } from '../shared/testing.js';
import type { VmContext } from '../vm/context.js';
import { createHostFeeds, type HostFeeds } from './host-feeds.js';

const domainXml = (name: string) =>
  `<domain type='qemu'><name>${name}</name><memory unit='KiB'>262144</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices></devices></domain>`;

/** A remote host: its domains outlive each connection to it, as a real daemon's do. */
class FakeHost {
  readonly fakes: FakeLibvirt[] = [];
  dials = 0;
  closes = 0;
  /** While set, dialling fails with it (the host is down). */
  down: Error | null = null;

  constructor(
    readonly name: string,
    domains: string[] = [],
  ) {
    this.seed = domains;
  }

  private seed: string[];

  get uri(): string {
    return `qemu+ssh://alice@${this.name}.example/session`;
  }

  /** The daemon of the newest connection. */
  get daemon(): FakeLibvirt {
    return this.fakes.at(-1)!;
  }

  async open(): Promise<VmContext> {
    this.dials++;
    if (this.down) throw this.down;
    const { fake, client } = await openFakeLibvirt(this.uri);
    const before = this.fakes.at(-1);
    if (before) for (const [k, d] of before.domains) fake.domains.set(k, d);
    else for (const [i, name] of this.seed.entries()) define(fake, name, i + 1);
    this.fakes.push(fake);
    return {
      client,
      uri: this.uri,
      env: {},
      close: async () => {
        this.closes++;
        await client.close();
      },
    } as unknown as VmContext;
  }
}

function define(fake: FakeLibvirt, name: string, n: number): void {
  fake.domains.set(name, {
    name,
    uuid: Buffer.alloc(16, n),
    xml: domainXml(name),
    active: false,
    persistent: true,
  });
}

/**
 * A listener: the rows it got in `ready`, and every event after, each parsed against its wire shape. It waits on
 * promises, never on a clock: the tests with fake timers advance time themselves.
 */
function listen(feeds: HostFeeds) {
  const got: HostEvent[] = [];
  let woken: (() => void)[] = [];
  const wake = () => {
    const w = woken;
    woken = [];
    for (const fn of w) fn();
  };
  let rows: HostVms[] | null = null;
  const leave = feeds.subscribe(
    (json, e) => {
      expect(JSON.parse(json)).toEqual(e);
      got.push(SHAPES.HostEvent.parse(e) as HostEvent);
      wake();
    },
    (r) => {
      SHAPES.HostsReadyMessage.parse({ type: 'ready', hosts: r });
      rows = r;
      wake();
    },
  );
  const until = async <T>(find: () => T | undefined): Promise<T> => {
    for (let found = find(); ; found = find()) {
      if (found !== undefined) return found;
      await new Promise<void>((r) => woken.push(r));
    }
  };
  return {
    got,
    leave,
    ready: () => until(() => rows ?? undefined),
    /** The first event from index `from` on for which `pred` holds, once it has come. */
    next: (pred: (e: HostEvent) => boolean, from = 0) => until(() => got.slice(from).find(pred)),
  };
}

let feeds: HostFeeds | null = null;
afterEach(async () => {
  vi.useRealTimers();
  await feeds?.close();
  feeds = null;
});

function feedsOf(hosts: FakeHost[], retry = { firstMs: 10, maxMs: 40 }): HostFeeds {
  feeds = createHostFeeds({
    hosts: async () => hosts.map((h) => ({ name: h.name, uri: h.uri })),
    open: (entry) => hosts.find((h) => h.name === entry.name)!.open(),
    retry,
    timeoutMs: 10_000,
  });
  return feeds;
}

describe('host feeds', () => {
  it('give every host its row, then each event with its host, and keep the rows current for later listeners', async () => {
    const lab = new FakeHost('lab', ['web']);
    const nas = new FakeHost('nas');
    const f = feedsOf([lab, nas]);
    const a = listen(f);
    const rows = await a.ready();
    expect(rows.map((r) => [r.host, r.uri, r.vms?.map((v) => [v.name, v.state]), r.error])).toEqual([
      ['lab', lab.uri, [['web', 'shutoff']], null],
      ['nas', nas.uri, [], null],
    ]);

    // Started on lab by someone else (virsh, another roost): the daemon tells every registration.
    lab.daemon.domains.get('web')!.active = true;
    lab.daemon.emitLifecycle('web', LifecycleEventType.STARTED, 0);
    const started = await a.next((e) => e.type === 'vm');
    expect(started).toMatchObject({
      type: 'vm',
      host: 'lab',
      event: 'started',
      detail: 'booted',
      name: 'web',
    });
    expect(started.type === 'vm' && started.vm?.state).toBe('running');

    define(nas.daemon, 'db', 9);
    nas.daemon.emitLifecycle('db', LifecycleEventType.DEFINED, 0);
    expect(await a.next((e) => e.type === 'vm' && e.host === 'nas')).toMatchObject({
      event: 'defined',
      name: 'db',
    });

    // A second listener gets the rows as the events left them, on the connections already open.
    const b = listen(f);
    const later = await b.ready();
    expect(later.map((r) => r.vms?.map((v) => [v.name, v.state]))).toEqual([
      [['web', 'running']],
      [['db', 'shutoff']],
    ]);
    expect(later[0]!.vms![0]).toEqual(SHAPES.VmSummary.parse(later[0]!.vms![0]));
    expect([lab.dials, nas.dials]).toEqual([1, 1]);
    expect(b.got).toEqual([]);
    a.leave();
    b.leave();
  });

  it('report a host that cannot be reached as a row saying why, and dial it again after pauses that double up to a bound', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const lab = new FakeHost('lab', ['web']);
    lab.down = Object.assign(new Error('ssh: connect to host lab.example port 22: Connection refused'), {
      code: 'SSH_CONNECT_FAILED',
    });
    const f = feedsOf([lab], { firstMs: 1000, maxMs: 4000 });
    const a = listen(f);
    const [row] = await a.ready();
    expect(row).toMatchObject({ host: 'lab', vms: null, error: { message: /Connection refused/ } });
    // Pauses of 1, 2, 4, 4, 4 s: each redial comes after its pause, never before.
    const dialsAfter = async (ms: number) => {
      await vi.advanceTimersByTimeAsync(ms);
      return lab.dials;
    };
    expect(lab.dials).toBe(1);
    expect([await dialsAfter(999), await dialsAfter(1)]).toEqual([1, 2]);
    expect([await dialsAfter(1999), await dialsAfter(1)]).toEqual([2, 3]);
    expect([await dialsAfter(3999), await dialsAfter(1)]).toEqual([3, 4]);
    expect([await dialsAfter(3999), await dialsAfter(1)]).toEqual([4, 5]);
    expect(a.got.map((e) => e.type === 'host' && e.error?.message)).toEqual(
      Array(4).fill(expect.stringMatching(/Connection refused/)),
    );

    lab.down = null;
    await dialsAfter(4000);
    const up = await a.next((e) => e.type === 'host' && e.vms !== null);
    expect(up).toMatchObject({ type: 'host', host: 'lab', error: null, vms: [{ name: 'web' }] });
    // Up again: no more dialling however long it stays so.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(lab.dials).toBe(6);
    a.leave();
  });

  it('report a host whose connection drops as down, then dial it again and read its list anew', async () => {
    const lab = new FakeHost('lab', ['web']);
    const f = feedsOf([lab]);
    const a = listen(f);
    await a.ready();
    const first = lab.daemon;
    first.daemon.close(); // the host (or the ssh between) went away
    const down = await a.next((e) => e.type === 'host');
    expect(down).toMatchObject({ host: 'lab', vms: null, error: { code: 'HOST_GONE', message: /lab/ } });
    // Meanwhile a VM was defined over there: the new connection's list has it.
    const seen = a.got.length;
    const up = await a.next((e) => e.type === 'host' && e.vms !== null, seen);
    expect(lab.dials).toBe(2);
    expect(up.type === 'host' && up.vms?.map((v) => v.name)).toEqual(['web']);
    // Events flow on the new connection.
    lab.daemon.domains.get('web')!.active = true;
    lab.daemon.emitLifecycle('web', LifecycleEventType.STARTED, 0);
    expect(await a.next((e) => e.type === 'vm', seen)).toMatchObject({ host: 'lab', event: 'started' });
    a.leave();
  });

  it('close every connection when the last listener leaves, and dial again for the next', async () => {
    const lab = new FakeHost('lab', ['web']);
    const nas = new FakeHost('nas');
    const f = feedsOf([lab, nas]);
    const a = listen(f);
    const b = listen(f);
    await Promise.all([a.ready(), b.ready()]);
    expect(f.following).toBe(2);
    a.leave();
    expect(f.following).toBe(2);
    expect([lab.closes, nas.closes]).toEqual([0, 0]);
    b.leave();
    expect(f.following).toBe(0);
    await vi.waitFor(() => expect([lab.closes, nas.closes]).toEqual([1, 1]));
    // Each daemon saw its registration undone and the connection said goodbye.
    for (const fake of [lab.daemon, nas.daemon]) {
      expect(fake.callbacks.size).toBe(0);
      expect(fake.calls).toContain('CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY');
      expect(fake.calls.at(-1)).toBe('CONNECT_CLOSE');
    }
    // An event now reaches nobody, and nothing dials.
    lab.daemon.emitLifecycle('web', LifecycleEventType.STARTED, 0);
    expect(b.got).toEqual([]);
    const c = listen(f);
    await c.ready();
    expect([lab.dials, nas.dials]).toEqual([2, 2]);
    c.leave();
  });

  it('make a host list that cannot be read one row, and follow the hosts the list has when a listener joins', async () => {
    const lab = new FakeHost('lab');
    let list: () => { name: string; uri: string }[] = () => {
      throw Object.assign(new Error('hosts.yaml is not a valid host list: bad'), {
        code: 'HOSTS_FILE_INVALID',
      });
    };
    feeds = createHostFeeds({
      hosts: async () => list(),
      open: () => lab.open(),
      retry: { firstMs: 10, maxMs: 40 },
    });
    const a = listen(feeds);
    expect(await a.ready()).toEqual([
      expect.objectContaining({
        host: 'hosts.yaml',
        vms: null,
        error: expect.objectContaining({ message: expect.stringMatching(/not a valid/) }),
      }),
    ]);
    list = () => [{ name: 'lab', uri: lab.uri }];
    const b = listen(feeds);
    expect((await b.ready()).map((r) => r.host)).toEqual(['lab']);
    expect(feeds.following).toBe(1);
    a.leave();
    b.leave();
  });
});
