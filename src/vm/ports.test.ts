// The port use cases against a fake daemon that behaves like libvirt 11.3 does with a running passt NIC:
// update-device succeeds and changes nothing; detach + attach works.
import { roostPaths } from '../paths.js';
import { describe, expect, it } from 'vitest';
import { parseDomainXml } from '../domain-xml/parse.js';
import type { LibvirtClient } from '../libvirt/api.js';
import type { VmContext } from './context.js';
import { addPorts, listPorts, portRows, removePorts } from './ports.js';

const MAC = '52:54:00:aa:bb:cc';
const xmlWith = (ranges: string, extra = '') => `<domain type='qemu'>
  <name>web</name>
  <metadata><other:app xmlns:other='https://example.org/x'>keep me</other:app></metadata>
  <devices>
    <interface type='user'>
      <mac address='${MAC}'/>
      <portForward proto='tcp' address='127.0.0.1'>
        ${ranges}
      </portForward>
      <model type='virtio'/>
      <backend type='passt'/>
      ${extra}
    </interface>
  </devices>
</domain>`;

interface Fake {
  ctx: VmContext;
  calls: string[];
  config(): string;
  live(): string | null;
}

function fakeDaemon(opts: { running: boolean; agent?: boolean; other?: string }): Fake {
  let config = xmlWith("<range start='8080' to='80'/>");
  let live: string | null = opts.running
    ? xmlWith(
        "<range start='8080' to='80'/>",
        "<alias name='net0'/><address type='pci' bus='0x01' slot='0x00'/>",
      )
    : null;
  const calls: string[] = [];
  const dom = { name: 'web', uuid: Buffer.alloc(16), id: opts.running ? 3 : -1 };
  const other = { name: 'other', uuid: Buffer.alloc(16, 1), id: -1 };
  const client = {
    lookupDomain: (name: string) => Promise.resolve(name === 'web' ? dom : other),
    listDomains: () => Promise.resolve(opts.other ? [dom, other] : [dom]),
    isActive: () => Promise.resolve(live !== null),
    getXml: (d: { name: string }, flags = 0) =>
      Promise.resolve(d.name === 'other' ? opts.other! : flags & 2 || live === null ? config : live),
    defineDomain: (xml: string) => {
      calls.push('define');
      config = xml;
      return Promise.resolve(dom);
    },
    updateDevice: () => {
      calls.push('update');
      return Promise.resolve();
    },
    detachDevice: (_d: unknown, xml: string) => {
      calls.push('detach');
      expect(xml).toContain(MAC);
      live = live!.replace(/<interface[\s\S]*<\/interface>/, '');
      return Promise.resolve();
    },
    attachDevice: (_d: unknown, xml: string) => {
      calls.push('attach');
      expect(xml).not.toContain('alias');
      expect(xml).toContain('bus="0x01"');
      live = live!.replace('</devices>', `${xml}</devices>`);
      return Promise.resolve();
    },
    agentCommand: (_d: unknown, cmd: string) => {
      calls.push(`agent ${JSON.parse(cmd).execute}`);
      if (!opts.agent) return Promise.reject(new Error('QEMU guest agent is not connected'));
      return Promise.resolve(
        JSON.stringify({
          return: [
            {
              name: 'eth0',
              'hardware-address': MAC,
              'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '10.0.2.15', prefix: 24 }],
            },
          ],
        }),
      );
    },
  };
  const ctx = {
    client: client as unknown as LibvirtClient,
    uri: 'test:///',
    // A home with no auto-ports watcher state: listPorts reads it for running VMs.
    paths: roostPaths({ HOME: '/nonexistent/roost-test-home' }),
    env: {},
    close: () => Promise.resolve(),
  } as VmContext;
  return { ctx, calls, config: () => config, live: () => live };
}

const portsOf = (xml: string) => parseDomainXml(xml).nics[0]!.ports;

describe('port add/rm on a stopped VM', () => {
  it('edits the persistent XML, keeping what roost does not model', async () => {
    const f = fakeDaemon({ running: false });
    const r = await addPorts(f.ctx, 'web', ['7007:7/udp', '8081:81']);
    expect(r).toMatchObject({ applied: 'stopped', added: ['127.0.0.1:7007:7/udp', '127.0.0.1:8081:81/tcp'] });
    expect(portsOf(f.config())).toHaveLength(3);
    expect(f.config()).toContain('keep me');
    const rm = await removePorts(f.ctx, 'web', ['8080']);
    expect(rm.removed).toEqual(['127.0.0.1:8080:80/tcp']);
    expect(rm.ports).toEqual(['127.0.0.1:8081:81/tcp', '127.0.0.1:7007:7/udp']);
  });
  it('refuses conflicts with nothing written', async () => {
    const f = fakeDaemon({
      running: false,
      other: xmlWith("<range start='9090' to='90'/>").replace('>web<', '>other<'),
    });
    const before = f.config();
    await expect(addPorts(f.ctx, 'web', ['9090:90'])).rejects.toThrow(/already forwarded to VM 'other'/);
    await expect(addPorts(f.ctx, 'web', ['8080:8080'])).rejects.toThrow(/overlaps this VM's forward/);
    await expect(addPorts(f.ctx, 'web', ['80x'])).rejects.toThrow(/invalid port forward/);
    await expect(removePorts(f.ctx, 'web', ['9999'])).rejects.toThrow(/no forward matches/);
    expect(f.calls).toEqual([]);
    expect(f.config()).toBe(before);
  });
  it('says a forward the VM already has is already there, and writes nothing', async () => {
    const f = fakeDaemon({ running: false });
    const r = await addPorts(f.ctx, 'web', ['8080:80']);
    expect(r).toMatchObject({ applied: 'unchanged', added: [], already: ['127.0.0.1:8080:80/tcp'] });
    expect(f.calls).toEqual([]);
  });
  it('warns about a forward exposed to the network', async () => {
    const f = fakeDaemon({ running: false });
    const r = await addPorts(f.ctx, 'web', ['0.0.0.0:18443:443']);
    expect(r.warnings[0]).toMatch(/other machines on the network can reach/);
  });
});

describe('port add on a running VM', () => {
  it('does not believe update-device, and without an agent leaves the change for the next start', async () => {
    const f = fakeDaemon({ running: true });
    const r = await addPorts(f.ctx, 'web', ['8081:81']);
    expect(r.applied).toBe('next-start');
    expect(r.reason).toMatch(/does not apply port forward changes/);
    expect(f.calls).toEqual(['define', 'update', 'agent guest-ping']);
    expect(portsOf(f.config())).toHaveLength(2);
    expect(portsOf(f.live()!)).toHaveLength(1);
    const ls = await listPorts(f.ctx, 'web');
    expect(ls.ports.map((p) => [p.spec, p.state])).toEqual([
      ['127.0.0.1:8080:80/tcp', 'active'],
      ['127.0.0.1:8081:81/tcp', 'next-start'],
    ]);
  });
  it('re-plugs the NIC with the same MAC and PCI address when asked (--apply now)', async () => {
    const f = fakeDaemon({ running: true });
    const r = await addPorts(f.ctx, 'web', ['8081:81'], { apply: 'now' });
    expect(r.applied).toBe('replug');
    expect(r.nicGapMs).toBeGreaterThanOrEqual(0);
    expect(r.guestBackMs).toBeUndefined();
    expect(f.calls).toEqual(['define', 'update', 'agent guest-ping', 'detach', 'attach']);
    expect(portsOf(f.live()!)).toEqual(portsOf(f.config()));
  });
  it('re-plugs by default when the guest agent answers, and waits for its address', async () => {
    const f = fakeDaemon({ running: true, agent: true });
    const r = await addPorts(f.ctx, 'web', ['8081:81']);
    expect(r.applied).toBe('replug');
    expect(typeof r.guestBackMs).toBe('number');
    expect(f.calls.slice(-2)).toEqual(['attach', 'agent guest-network-get-interfaces']);
  });
  it('never touches the running VM with --apply next-start', async () => {
    const f = fakeDaemon({ running: true, agent: true });
    const r = await removePorts(f.ctx, 'web', ['8080'], { apply: 'next-start' });
    expect(r.applied).toBe('next-start');
    expect(f.calls).toEqual(['define']);
    const ls = await listPorts(f.ctx, 'web');
    expect(ls.ports.map((p) => p.state)).toEqual(['removed-at-next-start']);
  });
});

describe("port ls: each row's tunnel", () => {
  it('a VM of another host: the ssh -L line for a TCP forward, null for UDP; a VM of this host: null', async () => {
    const f = fakeDaemon({ running: false });
    await addPorts(f.ctx, 'web', ['5353:53/udp']);
    const local = await listPorts(f.ctx, 'web');
    expect(local.ports.map((p) => p.tunnel)).toEqual([null, null]);
    const remote = await listPorts({ ...f.ctx, uri: 'qemu+ssh://alice@lab.example:2222/session' }, 'web');
    expect(remote.ports.map((p) => [p.spec, p.tunnel])).toEqual([
      ['127.0.0.1:8080:80/tcp', 'ssh -N -L 8080:127.0.0.1:8080 -p 2222 alice@lab.example'],
      ['127.0.0.1:5353:53/udp', null],
    ]);
  });
});

describe('portRows', () => {
  it("says 'configured' for a VM that is not running", () => {
    expect(portRows([{ proto: 'udp', address: '', hostStart: 5353, guestStart: 53 }], null)).toEqual([
      {
        spec: '0.0.0.0:5353:53/udp',
        proto: 'udp',
        address: '0.0.0.0',
        host: '5353',
        guest: '53',
        state: 'configured',
        exposed: true,
      },
    ]);
  });
});
