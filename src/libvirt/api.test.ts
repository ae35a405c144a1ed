import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LibvirtClient, type OpenClientOptions, openClient } from './api.js';
import { ConnectionClosedError, LibvirtError } from './errors.js';
import { type ProcedureName, events, procedures } from './procedures.js';
import { MessageStatus, MessageType, type Packet } from './rpc/packet.js';
import {
  FakeDaemon,
  duplexPair,
  errorValue,
  header,
  packet,
  replyError,
  replyOk,
  streamPacket,
} from './testing.js';
import { parseUuid } from './types.js';
import { type Codec, decode, encode } from './xdr/index.js';

const uuid = parseUuid('8f0e6b8c3b2a4c1d9e8f0123456789ab');
const dom = { name: 'vm1', uuid, id: 4 };

type Answer = (args: unknown, p: Packet, d: FakeDaemon) => unknown;

const byNumber = new Map(
  Object.entries(procedures).map(([name, p]) => [`${p.prog}:${p.proc}`, name as ProcedureName]),
);

/** A daemon that answers the handshake and whatever `answers` names, by procedure name. */
function fakeDaemon(answers: Partial<Record<ProcedureName, Answer>> = {}, authTypes = [0]) {
  const [clientEnd, daemonEnd] = duplexPair();
  const daemon = new FakeDaemon(daemonEnd);
  const defaults: Partial<Record<ProcedureName, Answer>> = {
    AUTH_LIST: () => ({ types: authTypes }),
    AUTH_POLKIT: () => ({ complete: 1 }),
    CONNECT_OPEN: () => undefined,
    CONNECT_CLOSE: () => undefined,
    CONNECT_SUPPORTS_FEATURE: () => ({ supported: 1 }),
  };
  const calls: { name: ProcedureName; args: unknown }[] = [];
  daemon.handler = (p, d) => {
    if (p.header.type !== MessageType.CALL) return;
    const name = byNumber.get(`${p.header.prog}:${p.header.proc}`)!;
    const proc = procedures[name];
    const args = decode(proc.args as Codec<unknown>, p.payload);
    calls.push({ name, args });
    const answer = answers[name] ?? defaults[name];
    if (!answer) return;
    try {
      const ret = answer(args, p, d);
      if (ret !== NO_REPLY) d.send(replyOk(p.header, proc.ret as Codec<unknown>, ret));
    } catch (err) {
      d.send(replyError(p.header, errorValue((err as { code?: number }).code ?? 1, (err as Error).message)));
    }
  };
  return { clientEnd, daemon, calls };
}
const NO_REPLY = Symbol('no reply');

async function connect(
  answers: Parameters<typeof fakeDaemon>[0] = {},
  opts: OpenClientOptions = {},
  auth = [0],
) {
  const f = fakeDaemon(answers, auth);
  const client = await openClient(f.clientEnd, 'qemu:///session', { keepalive: false, ...opts });
  return { ...f, client };
}

describe('LibvirtClient handshake', () => {
  it('asks AUTH_LIST, then CONNECT_OPEN with the name', async () => {
    const { client, calls } = await connect();
    expect(calls.map((c) => c.name)).toEqual(['AUTH_LIST', 'CONNECT_OPEN']);
    expect(calls[1]!.args).toEqual({ name: 'qemu:///session', flags: 0 });
    await client.close();
    expect(calls.at(-1)!.name).toBe('CONNECT_CLOSE');
    await expect(client.uri()).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('does AUTH_POLKIT when the daemon lists it, and opens read-only on request', async () => {
    const { calls } = await connect({}, { readOnly: true }, [2]);
    expect(calls.map((c) => c.name)).toEqual(['AUTH_LIST', 'AUTH_POLKIT', 'CONNECT_OPEN']);
    expect(calls[2]!.args).toEqual({ name: 'qemu:///session', flags: 1 });
  });

  it('LibvirtClient.open runs the handshake; a client constructed directly dials on its first call', async () => {
    const first = fakeDaemon();
    const opened = await LibvirtClient.open(first.clientEnd, 'qemu:///session', { keepalive: false });
    expect(first.calls.map((c) => c.name)).toEqual(['AUTH_LIST', 'CONNECT_OPEN']);
    await opened.close();

    const later = fakeDaemon({ CONNECT_GET_HOSTNAME: () => ({ hostname: 'h' }) });
    let dials = 0;
    const lazy = new LibvirtClient('qemu:///session', {
      keepalive: false,
      reconnect: async () => (dials++, later.clientEnd),
    });
    expect(lazy.closed).toBe(true);
    expect(dials).toBe(0);
    await expect(lazy.hostname()).resolves.toBe('h');
    expect(dials).toBe(1);
    expect(later.calls.map((c) => c.name)).toEqual(['AUTH_LIST', 'CONNECT_OPEN', 'CONNECT_GET_HOSTNAME']);
    await lazy.close();
  });

  it('fails clearly when the daemon wants SASL', async () => {
    const f = fakeDaemon({}, [1]);
    await expect(openClient(f.clientEnd, 'qemu:///session', { keepalive: false })).rejects.toMatchObject({
      code: 'PROTOCOL_UNSUPPORTED',
    });
  });
});

describe('LibvirtClient methods', () => {
  it('maps readable methods onto procedures', async () => {
    const { client, calls } = await connect({
      CONNECT_LIST_ALL_DOMAINS: () => ({ domains: [dom], ret: 1 }),
      DOMAIN_LOOKUP_BY_NAME: (a) => ({ dom: { ...dom, name: (a as { name: string }).name } }),
      DOMAIN_GET_STATE: () => ({ state: 1, reason: 1 }),
      DOMAIN_GET_INFO: () => ({ state: 1, maxMem: 2097152n, memory: 2097152n, nrVirtCpu: 2, cpuTime: 5n }),
      CONNECT_GET_LIB_VERSION: () => ({ lib_ver: 11003000n }),
      QEMU_DOMAIN_AGENT_COMMAND: () => ({ result: '{"return":{}}' }),
      DOMAIN_INTERFACE_ADDRESSES: () => ({
        ifaces: [
          { name: 'eth0', hwaddr: '52:54:00:00:00:01', addrs: [{ type: 0, addr: '10.0.2.15', prefix: 24 }] },
        ],
      }),
    });
    expect(await client.listDomains()).toEqual([dom]);
    expect(calls.at(-1)!.args).toEqual({ need_results: 1, flags: 3 });
    const d = await client.lookupDomain('web');
    expect(d.name).toBe('web');
    expect(await client.getState(d)).toEqual({ state: 1, reason: 1 });
    expect((await client.getInfo(d)).nrVirtCpu).toBe(2);
    expect(await client.libVersion()).toBe(11003000n);
    expect(await client.agentCommand(d, '{"execute":"guest-ping"}')).toBe('{"return":{}}');
    expect(calls.at(-1)!.args).toMatchObject({ cmd: '{"execute":"guest-ping"}', timeout: -1, flags: 0 });
    expect((await client.interfaceAddresses(d, 1))[0]!.addrs[0]!.addr).toBe('10.0.2.15');
  });

  it('surfaces daemon errors as LibvirtError', async () => {
    const { client } = await connect({
      DOMAIN_LOOKUP_BY_NAME: () => {
        throw Object.assign(new Error("Domain not found: no domain with matching name 'x'"), { code: 42 });
      },
    });
    const err = await client.lookupDomain('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibvirtError);
    expect((err as LibvirtError).isNotFound()).toBe(true);
  });

  it('uploads a buffer and downloads a volume over streams', async () => {
    const vol = { pool: 'images', name: 'a.img', key: '/img/a.img' };
    let uploaded = Buffer.alloc(0);
    const { client, calls } = await connect({
      STORAGE_VOL_UPLOAD: (_a, p, d) => {
        d.handler = wrapStream(d.handler!, p, (sp) => {
          if (sp.header.status === MessageStatus.CONTINUE) uploaded = Buffer.concat([uploaded, sp.payload]);
          if (sp.header.status === MessageStatus.OK) d.send(streamPacket(p.header, MessageStatus.OK));
        });
        return undefined;
      },
      STORAGE_VOL_DOWNLOAD: (_a, p, d) => {
        d.handler = wrapStream(d.handler!, p, (sp) => {
          if (sp.header.status === MessageStatus.OK) d.send(streamPacket(p.header, MessageStatus.OK));
        });
        setImmediate(() => {
          d.send(streamPacket(p.header, MessageStatus.CONTINUE, Buffer.from('disk ')));
          d.send(streamPacket(p.header, MessageStatus.CONTINUE, Buffer.from('image')));
          d.send(streamPacket(p.header, MessageStatus.CONTINUE));
        });
        return undefined;
      },
    });
    await client.uploadVolume(vol, Buffer.from('0123456789'));
    expect(uploaded.toString()).toBe('0123456789');
    expect(calls.find((c) => c.name === 'STORAGE_VOL_UPLOAD')!.args).toMatchObject({
      offset: 0n,
      length: 10n,
    });
    await client.uploadVolume(vol, Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
    expect(uploaded.toString()).toBe('0123456789abcd');

    const chunks: Buffer[] = [];
    for await (const c of await client.downloadVolume(vol)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('disk image');
  });
});

/** Routes STREAM packets of the call `opening` to `onStream`, everything else to `next`. */
function wrapStream(
  next: (p: Packet, d: FakeDaemon) => void,
  opening: Packet,
  onStream: (p: Packet) => void,
): (p: Packet, d: FakeDaemon) => void {
  return (p, d) => {
    if (p.header.type === MessageType.STREAM && p.header.serial === opening.header.serial) onStream(p);
    else next(p, d);
  };
}

describe('LibvirtClient lifecycle events', () => {
  const lifecycle = events.DOMAIN_EVENT_CALLBACK_LIFECYCLE;
  const eventPacket = (callbackID: number, event: number) =>
    packet(
      header({ proc: lifecycle.proc, type: MessageType.MESSAGE, serial: 1 }),
      encode(lifecycle.msg, { callbackID, dom, event, detail: 0 }),
    );

  it('checks feature 14, registers, yields its own events, deregisters on return()', async () => {
    const { client, calls } = await connect({
      CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: (_a, p, d) => {
        // The first event races the registration reply: it must still be delivered.
        d.send(
          replyOk(p.header, procedures.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY.ret, { callbackID: 5 }),
        );
        d.send(eventPacket(5, 2));
        d.send(eventPacket(6, 0)); // someone else's registration
        d.send(eventPacket(5, 5));
        return NO_REPLY;
      },
      CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: () => undefined,
    });
    const seen: number[] = [];
    for await (const ev of client.lifecycleEvents()) {
      expect(ev.dom).toEqual(dom);
      seen.push(ev.event);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([2, 5]);
    const names = calls.map((c) => c.name);
    expect(names.slice(2)).toEqual([
      'CONNECT_SUPPORTS_FEATURE',
      'CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY',
      'CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY',
    ]);
    expect(calls[2]!.args).toEqual({ feature: 14 });
    expect(calls[3]!.args).toEqual({ eventID: 0, dom: null });
    expect(calls[4]!.args).toEqual({ callbackID: 5 });
  });

  it('ends with ConnectionClosedError when the connection drops', async () => {
    const { client, daemon } = await connect({
      CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: () => ({ callbackID: 1 }),
    });
    const it = client.lifecycleEvents()[Symbol.asyncIterator]();
    const first = it.next();
    await new Promise((r) => setTimeout(r, 10));
    daemon.close();
    await expect(first).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});

describe('LibvirtClient reconnect', () => {
  it('fails calls in flight, then re-dials and re-handshakes on the next call', async () => {
    const first = fakeDaemon({ CONNECT_GET_HOSTNAME: () => NO_REPLY });
    let dials = 0;
    let second: ReturnType<typeof fakeDaemon> | null = null;
    const client = await openClient(first.clientEnd, 'qemu:///session', {
      keepalive: false,
      reconnect: async () => {
        dials++;
        second = fakeDaemon({ CONNECT_GET_HOSTNAME: () => ({ hostname: 'host-b' }) });
        return second.clientEnd;
      },
    });
    const inFlight = client.hostname();
    await new Promise((r) => setTimeout(r, 5));
    first.daemon.close();
    await expect(inFlight).rejects.toBeInstanceOf(ConnectionClosedError);
    const [a, b] = await Promise.all([client.hostname(), client.hostname()]);
    expect([a, b]).toEqual(['host-b', 'host-b']);
    expect(dials).toBe(1);
    expect(second!.calls.map((c) => c.name)).toEqual([
      'AUTH_LIST',
      'CONNECT_OPEN',
      'CONNECT_GET_HOSTNAME',
      'CONNECT_GET_HOSTNAME',
    ]);
  });

  // A daemon killed a moment ago still accepts connections (the kernel's backlog) and then resets them: the
  // handshake on such a connection is cut off, and the call that needed it must not fail for that.
  it('dials again when the connection closes under the handshake, for the first connect and a reconnect', async () => {
    const dying = () =>
      fakeDaemon({
        AUTH_LIST: (_args, _p, d) => {
          d.close();
          return NO_REPLY;
        },
      });
    const queue = [
      dying(),
      fakeDaemon(),
      dying(),
      dying(),
      fakeDaemon({ CONNECT_GET_HOSTNAME: () => ({ hostname: 'h2' }) }),
    ];
    let dials = 0;
    const reconnect = async () => {
      dials++;
      return queue.shift()!.clientEnd;
    };
    const client = await openClient(dying().clientEnd, 'qemu:///session', { keepalive: false, reconnect });
    expect(dials).toBe(2);
    dials = 0;
    // That daemon goes away; the next call meets two dying daemons before a live one.
    (await client.connection()).close();
    await expect(client.hostname()).resolves.toBe('h2');
    expect(dials).toBe(3);
  });

  it('gives up after a few cut-off handshakes with ConnectionClosedError', async () => {
    const dying = () =>
      fakeDaemon({
        AUTH_LIST: (_args, _p, d) => {
          d.close();
          return NO_REPLY;
        },
      });
    let dials = 0;
    const reconnect = async () => {
      dials++;
      return dying().clientEnd;
    };
    await expect(
      openClient(dying().clientEnd, 'qemu:///session', { keepalive: false, reconnect }),
    ).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(dials).toBe(4);
  });

  it('does not dial again when the daemon refuses the handshake (a LibvirtError)', async () => {
    let dials = 0;
    const refusing = fakeDaemon({
      CONNECT_OPEN: () => {
        throw Object.assign(new Error('authentication failed'), { code: 45 });
      },
    });
    await expect(
      openClient(refusing.clientEnd, 'qemu:///session', {
        keepalive: false,
        reconnect: async () => (dials++, fakeDaemon().clientEnd),
      }),
    ).rejects.toBeInstanceOf(LibvirtError);
    expect(dials).toBe(0);
  });

  it('without reconnect, calls after a close keep failing with ConnectionClosedError', async () => {
    const { client, daemon } = await connect();
    daemon.close();
    await new Promise((r) => setImmediate(r));
    await expect(client.hostname()).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});
