import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LibvirtError } from '../../libvirt/errors.js';
import { DomainDefineFlags, type Domain, type RemoteError } from '../../libvirt/types.js';
import {
  decidePasstSupport,
  PROBE_PREFIX,
  probeDomainXml,
  probePasstBackend,
  type PasstDecision,
  type ProbeClient,
} from './passt-support.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../test/fixtures/domcaps/${name}`, import.meta.url), 'utf8');
const NEW_LIBVIRT = fixture('libvirt-11.3-qemu-10.0.xml');
const OLD_LIBVIRT = fixture('libvirt-no-backend-enum.xml');
const FIX = '/opt/roost/scripts/setup-host.sh';

function result(d: PasstDecision) {
  if ('needsProbe' in d) throw new Error('expected a result, got needsProbe');
  return d.result;
}

describe('decidePasstSupport', () => {
  it('accepts passt when the domain capabilities list it (libvirt 11.3)', () => {
    const r = result(decidePasstSupport(NEW_LIBVIRT, undefined, FIX));
    expect(r).toMatchObject({ id: 'libvirt-passt', status: 'ok' });
    expect(r.detail).toContain('default, passt');
    expect(r.fix).toBeUndefined();
  });

  it('fails with the fix when the enum lists backends but not passt', () => {
    const xml = NEW_LIBVIRT.replace('<value>passt</value>', '');
    const r = result(decidePasstSupport(xml, undefined, FIX));
    expect(r).toMatchObject({ status: 'fail', fix: FIX });
    expect(r.detail).toMatch(/backends are default:/);
  });

  it('asks for the probe when the capabilities have no backend enum (older libvirt)', () => {
    expect(decidePasstSupport(OLD_LIBVIRT, undefined, FIX)).toEqual({ needsProbe: true });
    expect(decidePasstSupport(null, undefined, FIX)).toEqual({ needsProbe: true });
  });

  it('fails with the backports fix when the probe was refused (Debian 12 libvirt 9.0.0)', () => {
    const message =
      "XML error: Invalid value for attribute 'type' in element 'backend': 'passt'.\nElement domain failed";
    const r = result(decidePasstSupport(OLD_LIBVIRT, { outcome: 'refused', message }, FIX));
    expect(r).toMatchObject({ id: 'libvirt-passt', status: 'fail', fix: FIX });
    expect(r.detail).toContain("Invalid value for attribute 'type' in element 'backend'");
    expect(r.detail).toContain('bookworm-backports');
    expect(r.detail).not.toContain('\n');
  });

  it('accepts passt when the probe domain validated', () => {
    const r = result(decidePasstSupport(OLD_LIBVIRT, { outcome: 'accepted' }, FIX));
    expect(r).toMatchObject({ status: 'ok' });
    expect(r.detail).toMatch(/validation/);
  });

  it('warns, without a fix, when the probe could not tell', () => {
    const r = result(decidePasstSupport(OLD_LIBVIRT, { outcome: 'error', message: 'no emulator' }, FIX));
    expect(r).toMatchObject({ status: 'warn' });
    expect(r.fix).toBeUndefined();
  });

  it('lets the capabilities win over a probe result', () => {
    const r = result(decidePasstSupport(NEW_LIBVIRT, { outcome: 'refused', message: 'x' }, FIX));
    expect(r.status).toBe('ok');
  });
});

/** A client that records calls; `define` decides what defining does. */
function fakeClient(define: (xml: string, flags?: number) => Promise<Domain>, undefineFails = false) {
  const calls: string[] = [];
  const defined: string[] = [];
  const client: ProbeClient = {
    defineDomain: async (xml, flags) => {
      calls.push(`define flags=${flags}`);
      const dom = await define(xml, flags);
      defined.push(dom.name);
      return dom;
    },
    undefineDomain: async (dom) => {
      calls.push(`undefine ${dom.name}`);
      if (undefineFails) throw new Error('daemon went away');
      defined.splice(defined.indexOf(dom.name), 1);
    },
  };
  return { client, calls, defined };
}

function libvirtError(code: number, message: string): LibvirtError {
  const e: RemoteError = {
    code,
    domain: 20,
    message,
    level: 2,
    dom: null,
    str1: null,
    str2: null,
    str3: null,
    int1: 0,
    int2: 0,
    net: null,
  };
  return new LibvirtError(e);
}

const nameOf = (xml: string) => /<name>([^<]+)<\/name>/.exec(xml)![1]!;

describe('probePasstBackend', () => {
  it('defines a uniquely named probe with VALIDATE and undefines it at once', async () => {
    const f = fakeClient(async (xml) => ({ name: nameOf(xml), uuid: Buffer.alloc(16), id: -1 }));
    expect(await probePasstBackend(f.client)).toEqual({ outcome: 'accepted' });
    expect(f.calls).toEqual([
      `define flags=${DomainDefineFlags.VALIDATE}`,
      expect.stringMatching(/^undefine roost-doctor-probe-[0-9a-f]{12}$/),
    ]);
    expect(f.defined).toEqual([]);
  });

  it('reports a schema rejection as refused, with nothing defined', async () => {
    const f = fakeClient(async () => {
      throw libvirtError(92, 'XML document failed to validate against schema');
    });
    const r = await probePasstBackend(f.client);
    expect(r).toEqual({ outcome: 'refused', message: 'XML document failed to validate against schema' });
    expect(f.calls).toEqual([`define flags=${DomainDefineFlags.VALIDATE}`]);
  });

  it("reports libvirt 9.0.0's parse error (XML_ERROR) as refused", async () => {
    const f = fakeClient(async () => {
      throw libvirtError(27, "XML error: Invalid value for attribute 'type' in element 'backend': 'passt'.");
    });
    expect((await probePasstBackend(f.client)).outcome).toBe('refused');
  });

  it('reports other failures as "could not tell"', async () => {
    const f = fakeClient(async () => {
      throw libvirtError(38, 'Cannot find QEMU binary');
    });
    expect((await probePasstBackend(f.client)).outcome).toBe('error');
    const g = fakeClient(async () => {
      throw new Error('connection closed');
    });
    expect((await probePasstBackend(g.client)).outcome).toBe('error');
  });

  it('names the leftover domain when it cannot be undefined', async () => {
    const f = fakeClient(async (xml) => ({ name: nameOf(xml), uuid: Buffer.alloc(16), id: -1 }), true);
    const r = await probePasstBackend(f.client);
    expect(r.outcome).toBe('error');
    expect(r.outcome === 'error' && r.message).toMatch(/virsh undefine roost-doctor-probe-/);
  });

  it('builds a minimal domain whose only device is a user NIC with the requested backend', () => {
    const xml = probeDomainXml(`${PROBE_PREFIX}abc`, 'passt');
    expect(xml).toContain("<domain type='qemu'>");
    expect(xml).toContain(`<name>${PROBE_PREFIX}abc</name>`);
    expect(xml).toContain("<interface type='user'><backend type='passt'/></interface>");
  });
});
