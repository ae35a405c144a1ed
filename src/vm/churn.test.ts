// VMs removed by another client while roost reads them (issue: `roost ls` failed whole with "Domain not found:
// no domain with matching uuid"). A fake daemon speaking the wire protocol keeps a set of domains; a hook
// removes one between the list (or lookup) and the per-domain reads, as a concurrent `roost rm` would.
import { afterEach, describe, expect, it } from 'vitest';
import { openClient, type LibvirtClient } from '../libvirt/api.js';
import { type ProcedureName, procedures } from '../libvirt/procedures.js';
import { MessageType } from '../libvirt/rpc/packet.js';
import { FakeDaemon, duplexPair, errorValue, replyError, replyOk } from '../libvirt/testing.js';
import type { Domain } from '../libvirt/types.js';
import { roostPaths } from '../paths.js';
import { type Codec, decode } from '../libvirt/xdr/index.js';
import type { VmContext } from './context.js';
import { vmAddresses } from './ip.js';
import { vmDetails } from './details.js';
import { listVms } from './list.js';
import { listPorts } from './ports.js';
import { existingForwards } from './forwards.js';

const byNumber = new Map(
  Object.entries(procedures).map(([name, p]) => [`${p.prog}:${p.proc}`, name as ProcedureName]),
);

const xmlOf = (name: string) => `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>524288</memory>
  <vcpu>1</vcpu>
  <devices>
    <interface type='user'>
      <mac address='52:54:00:00:00:0${name.length}'/>
      <portForward proto='tcp' address='127.0.0.1'><range start='${8000 + name.length}' to='80'/></portForward>
      <backend type='passt'/>
    </interface>
  </devices>
</domain>`;

interface Churn {
  ctx: VmContext;
  /** Called before the daemon answers a per-domain read (state, XML, is-active) of `dom`. */
  beforeRead: ((dom: Domain) => void) | null;
  remove(name: string): void;
  define(name: string): void;
}

const NO_DOMAIN = 42;
const clients: LibvirtClient[] = [];

async function churnDaemon(names: string[]): Promise<Churn> {
  const doms = new Map<string, Domain>();
  let serial = 0;
  const define = (name: string) => {
    serial++;
    doms.set(name, { name, uuid: Buffer.alloc(16, serial), id: -1 });
  };
  names.forEach(define);
  const churn: Churn = {
    ctx: undefined as unknown as VmContext,
    beforeRead: null,
    remove: (name) => doms.delete(name),
    define,
  };
  const alive = (d: Domain) => {
    const now = doms.get(d.name);
    if (!now || !now.uuid.equals(d.uuid)) {
      throw Object.assign(new Error('Domain not found: no domain with matching uuid'), { code: NO_DOMAIN });
    }
    return now;
  };
  const answers: Partial<Record<ProcedureName, (a: never) => unknown>> = {
    AUTH_LIST: () => ({ types: [0] }),
    CONNECT_OPEN: () => undefined,
    CONNECT_CLOSE: () => undefined,
    CONNECT_LIST_ALL_DOMAINS: () => ({ domains: [...doms.values()], ret: doms.size }),
    DOMAIN_LOOKUP_BY_NAME: (a: { name: string }) => {
      const d = doms.get(a.name);
      if (!d) {
        throw Object.assign(new Error(`Domain not found: no domain with matching name '${a.name}'`), {
          code: NO_DOMAIN,
        });
      }
      return { dom: d };
    },
    DOMAIN_GET_XML_DESC: (a: { dom: Domain }) => ({ xml: xmlOf(alive(a.dom).name) }),
    DOMAIN_GET_STATE: (a: { dom: Domain }) => (alive(a.dom), { state: 5, reason: 0 }),
    DOMAIN_IS_ACTIVE: (a: { dom: Domain }) => (alive(a.dom), { active: 0 }),
  };
  const perDomain = new Set<ProcedureName>(['DOMAIN_GET_XML_DESC', 'DOMAIN_GET_STATE', 'DOMAIN_IS_ACTIVE']);
  const [clientEnd, daemonEnd] = duplexPair();
  const daemon = new FakeDaemon(daemonEnd);
  daemon.handler = (p, d) => {
    if (p.header.type !== MessageType.CALL) return;
    const name = byNumber.get(`${p.header.prog}:${p.header.proc}`)!;
    const proc = procedures[name];
    const args = decode(proc.args as Codec<unknown>, p.payload) as { dom?: Domain };
    try {
      if (perDomain.has(name) && args.dom) churn.beforeRead?.(args.dom);
      const answer = answers[name];
      if (!answer) throw new Error(`the fake daemon does not answer ${name}`);
      d.send(replyOk(p.header, proc.ret as Codec<unknown>, answer(args as never)));
    } catch (e) {
      d.send(replyError(p.header, errorValue((e as { code?: number }).code ?? 1, (e as Error).message)));
    }
  };
  const client = await openClient(clientEnd, 'qemu:///session', { keepalive: false });
  clients.push(client);
  churn.ctx = {
    client,
    uri: 'qemu:///session',
    paths: roostPaths({ HOME: '/nonexistent-roost-test' }),
    env: {},
    close: () => client.close(),
  };
  return churn;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
});

describe('a VM removed while roost reads it', () => {
  it('roost ls leaves it out and lists the others', async () => {
    const c = await churnDaemon(['alpha', 'beta', 'gamma']);
    c.beforeRead = (d) => {
      if (d.name === 'beta') c.remove('beta');
    };
    const vms = await listVms(c.ctx);
    expect(vms.map((v) => v.name)).toEqual(['alpha', 'gamma']);
  });

  it('the forwards other VMs hold (port add/create conflict check) leave it out', async () => {
    const c = await churnDaemon(['alpha', 'beta']);
    c.beforeRead = (d) => {
      if (d.name === 'alpha') c.remove('alpha');
    };
    const fw = await existingForwards(c.ctx.client);
    expect(fw.map((f) => f.vm)).toEqual(['beta']);
  });

  it.each([
    ['info', (ctx: VmContext) => vmDetails(ctx, 'beta')],
    ['port ls', (ctx: VmContext) => listPorts(ctx, 'beta')],
    ['ip', (ctx: VmContext) => vmAddresses(ctx, 'beta')],
  ])('roost %s says "no VM named" (VM_NOT_FOUND), not libvirt\'s uuid error', async (_what, read) => {
    const c = await churnDaemon(['alpha', 'beta']);
    c.beforeRead = (d) => {
      if (d.name === 'beta') c.remove('beta');
    };
    const err = (await read(c.ctx).catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('VM_NOT_FOUND');
    expect(err.message).toBe("no VM named 'beta' on qemu:///session");
  });

  it('reads a VM removed and defined again under its name afresh', async () => {
    const c = await churnDaemon(['beta']);
    let redefined = false;
    c.beforeRead = (d) => {
      if (!redefined) {
        redefined = true;
        c.remove(d.name);
        c.define(d.name);
      }
    };
    const info = await vmDetails(c.ctx, 'beta');
    expect(info.name).toBe('beta');
    expect(info.uuid).toBe('02020202-0202-0202-0202-020202020202');
  });
});
