// roost port ls|add|rm: a VM's passt port forwards, persisted in its domain XML and — on a running VM — applied
// live where that can be done.
//
// What libvirt 11.3 does with a running passt NIC (measured, docs/networking.md "Live port editing"):
//  - DOMAIN_UPDATE_DEVICE_FLAGS(LIVE) with changed <portForward>s returns success and changes nothing: the live
//    XML keeps the old ranges and passt keeps running with its old --tcp-ports. So roost re-reads the live XML
//    after an update and only believes what it sees there.
//  - Detaching the NIC (LIVE) and attaching it again with the same MAC and PCI address works: libvirt stops the
//    old passt, starts a new one with the new forwards, the guest sees its NIC unplugged and plugged back on the
//    same slot (~1.5 s under TCG). The guest must configure the "new" NIC again (DHCP); distributions with
//    hotplug-aware networking (systemd-networkd, NetworkManager, ifupdown allow-hotplug) do, a guest that ran
//    its DHCP client once at boot does not.
// Hence the default (`auto`): update-device when it really applies; else re-plug when the guest agent answers
// (a cooperative guest roost can watch come back); else the change waits for the next start. `now` always
// re-plugs; `next-start` never touches the running VM.
import { setPortForwards } from '../domain-xml/edit.js';
import { parseDomainXml, type ParsedDomain, type ParsedNic } from '../domain-xml/parse.js';
import type { PortForwardSpec } from '../domain-xml/spec.js';
import { RoostError, UsageError } from '../errors.js';
import type { Domain } from '../libvirt/types.js';
import { parseAgentInterfaces } from '../net/ip-sources.js';
import { hasInterface, interfaceXml, interfaceXmlForAttach } from '../net/nic-xml.js';
import { checkForwards } from '../net/port-check.js';
import { formatPortForward, parsePortForward, type PortForward } from '../net/port-spec.js';
import {
  exposesToNetwork,
  exposureWarning,
  fromPortForwardSpec,
  parsePortPattern,
  planAdd,
  planRemove,
  sameForward,
  sameForwardSet,
  type ForwardsEdit,
} from '../net/ports.js';
import type { VmContext } from './context.js';
import { existingForwards } from './forwards.js';
import type { ForwardState, PortList, PortRow } from '../shared/api-types.js';
import { lookupVm, readVm } from './lookup.js';
import { readAutoPorts } from './auto-ports.js';
import type { PortChangeResult } from '../shared/ports.js';

const SECURE_XML = 1;
const INACTIVE_XML = 2;
const VALIDATE = 1;
const AFFECT_LIVE = 1;

export type ApplyMode = 'auto' | 'now' | 'next-start';

export type { ForwardState, PortList, PortRow } from '../shared/api-types.js';

export type { Applied, PortChangeResult } from '../shared/ports.js';

interface PasstNic {
  index: number;
  nic: ParsedNic & { mac: string };
}

function passtNic(parsed: ParsedDomain, name: string): PasstNic {
  const index = parsed.nics.findIndex((n) => n.type === 'user' && n.backend === 'passt');
  const nic = parsed.nics[index];
  if (nic === undefined) {
    const kinds = parsed.nics.map((n) => (n.type === 'user' ? `user (${n.backend})` : n.type)).join(', ');
    throw new UsageError(
      'NO_PASST_NIC',
      `VM '${name}' has no passt network interface (${kinds || 'no NIC at all'}): only passt forwards ports`,
      {
        hint: parsed.nics.some((n) => n.type === 'bridge' || n.type === 'network')
          ? `a bridged VM is reached at its own address: roost ip ${name}`
          : 'create the VM with --network user (the default)',
      },
    );
  }
  if (nic.mac === undefined) {
    throw new RoostError('NIC_WITHOUT_MAC', `VM '${name}': its passt NIC has no MAC address in the XML`);
  }
  return { index, nic: { ...nic, mac: nic.mac } };
}

function hostText(f: PortForward): string {
  return f.hostEnd === f.hostStart ? `${f.hostStart}` : `${f.hostStart}-${f.hostEnd}`;
}

function guestText(f: PortForward): string {
  const end = f.guestStart + (f.hostEnd - f.hostStart);
  return end === f.guestStart ? `${f.guestStart}` : `${f.guestStart}-${end}`;
}

function row(f: PortForward, state: ForwardState): PortRow {
  return {
    spec: formatPortForward(f),
    proto: f.proto,
    address: f.address,
    host: hostText(f),
    guest: guestText(f),
    state,
    exposed: exposesToNetwork(f),
  };
}

/** The rows of `port ls`: the persistent forwards, and on a running VM how each compares with the live NIC. */
export function portRows(
  persistent: readonly PortForwardSpec[],
  live: readonly PortForwardSpec[] | null,
): PortRow[] {
  const conf = persistent.map(fromPortForwardSpec);
  if (live === null) return conf.map((f) => row(f, 'configured'));
  const now = live.map(fromPortForwardSpec);
  return [
    ...conf.map((f) => row(f, now.some((g) => sameForward(f, g)) ? 'active' : 'next-start')),
    ...now.filter((g) => !conf.some((f) => sameForward(f, g))).map((g) => row(g, 'removed-at-next-start')),
  ];
}

async function liveNicPorts(ctx: VmContext, dom: Domain, mac: string): Promise<PortForwardSpec[] | null> {
  const live = parseDomainXml(await ctx.client.getXml(dom, SECURE_XML));
  return live.nics.find((n) => n.mac === mac)?.ports ?? null;
}

export function listPorts(ctx: VmContext, name: string): Promise<PortList> {
  return readVm(ctx, name, (dom) => portsOf(ctx, name, dom));
}

async function portsOf(ctx: VmContext, name: string, dom: Domain): Promise<PortList> {
  const parsed = parseDomainXml(await ctx.client.getXml(dom, INACTIVE_XML));
  const running = await ctx.client.isActive(dom);
  const index = parsed.nics.findIndex((n) => n.type === 'user' && n.backend === 'passt');
  const nic = parsed.nics[index];
  const live = running && nic?.mac !== undefined ? await liveNicPorts(ctx, dom, nic.mac) : null;
  // Ports the auto-ports watcher forwards through ssh (vm/auto-ports.ts), while it runs — a bridged VM's too,
  // which has no passt NIC and so no other rows.
  const auto = running ? (readAutoPorts(ctx.paths, name)?.ports ?? []) : [];
  const autoRows: PortRow[] = auto.map((p) => ({
    spec: `127.0.0.1:${p}:${p}/tcp`,
    proto: 'tcp',
    address: '127.0.0.1',
    host: String(p),
    guest: String(p),
    state: 'auto',
    exposed: false,
  }));
  const passtRows = nic === undefined ? [] : portRows(nic.ports, live);
  return { name, running, mac: nic?.mac ?? null, ports: [...passtRows, ...autoRows] };
}

export interface ChangeOptions {
  apply?: ApplyMode;
  /** How long to wait for the guest to release its NIC on unplug (ms). */
  detachTimeoutMs?: number;
  /** How long to wait for the guest agent to report an address after a replug (ms). */
  guestWaitMs?: number;
}

export async function addPorts(
  ctx: VmContext,
  name: string,
  specs: readonly string[],
  opts: ChangeOptions = {},
): Promise<PortChangeResult> {
  if (specs.length === 0) {
    throw new UsageError('NO_PORTS', 'no port forward given', {
      hint: `e.g. roost port add ${name} 8080:80`,
    });
  }
  const forwards = specs.map(parsePortForward);
  return change(ctx, name, opts, async (current, live) => {
    const plan = planAdd(current, forwards, name);
    // A forward the running NIC still has (removed from the config, not yet from passt) is bound by this VM's
    // own passt: probing it would call our own listener "another program".
    const held = (f: PortForward) => (live ?? []).map(fromPortForwardSpec).some((g) => sameForward(f, g));
    const others = await existingForwards(ctx.client, name);
    await checkForwards(
      plan.added.filter((f) => !held(f)),
      { existing: others },
    );
    await checkForwards(plan.added.filter(held), { existing: others, skipBindProbe: true });
    return plan;
  });
}

export async function removePorts(
  ctx: VmContext,
  name: string,
  patterns: readonly string[],
  opts: ChangeOptions = {},
): Promise<PortChangeResult> {
  if (patterns.length === 0) {
    throw new UsageError('NO_PORTS', 'no port forward given', { hint: `e.g. roost port rm ${name} 8080` });
  }
  const parsed = patterns.map(parsePortPattern);
  return change(ctx, name, opts, (current) => Promise.resolve(planRemove(current, parsed)));
}

async function change(
  ctx: VmContext,
  name: string,
  opts: ChangeOptions,
  plan: (current: PortForwardSpec[], live: PortForwardSpec[] | null) => Promise<ForwardsEdit>,
): Promise<PortChangeResult> {
  const dom = await lookupVm(ctx, name);
  // SECURE keeps secrets (e.g. a VNC password) in the XML we define again; INACTIVE is the persistent config.
  const xml = await ctx.client.getXml(dom, INACTIVE_XML | SECURE_XML);
  const { index, nic } = passtNic(parseDomainXml(xml), name);
  const running = await ctx.client.isActive(dom);
  const live = running ? await liveNicPorts(ctx, dom, nic.mac) : null;
  // Every check happens in plan(), before anything is written.
  const edit = await plan(nic.ports, live);
  const warnings = edit.added.filter(exposesToNetwork).map(exposureWarning);
  const base = {
    name,
    added: edit.added.map(formatPortForward),
    removed: edit.removed.map(formatPortForward),
    already: edit.already.map(formatPortForward),
    warnings,
    ports: edit.next.map((p) => formatPortForward(fromPortForwardSpec(p))),
  };
  const configChanged = !sameForwardSet(nic.ports, edit.next);
  if (configChanged) await ctx.client.defineDomain(setPortForwards(xml, index, edit.next), VALIDATE);
  if (!running) return { ...base, applied: configChanged ? 'stopped' : 'unchanged' };
  if (live !== null && sameForwardSet(live, edit.next)) {
    return { ...base, applied: configChanged ? 'live-update' : 'unchanged' };
  }
  return { ...base, ...(await applyLive(ctx, dom, nic.mac, edit.next, opts)) };
}

type LiveOutcome = Pick<PortChangeResult, 'applied' | 'reason' | 'nicGapMs' | 'guestBackMs'>;

async function applyLive(
  ctx: VmContext,
  dom: Domain,
  mac: string,
  desired: PortForwardSpec[],
  opts: ChangeOptions,
): Promise<LiveOutcome> {
  const mode = opts.apply ?? 'auto';
  if (mode === 'next-start') return { applied: 'next-start', reason: 'asked for --apply next-start' };
  const liveXml = await ctx.client.getXml(dom, SECURE_XML);
  if (!hasInterface(liveXml, mac)) {
    return { applied: 'next-start', reason: 'the running VM has no NIC with that MAC address' };
  }
  const wanted = setPortForwards(liveXml, mac, desired);

  // 1. In place. Believe only the live XML afterwards: libvirt 11.3 accepts the call and ignores the change.
  let why: string;
  try {
    await ctx.client.updateDevice(dom, interfaceXml(wanted, mac), AFFECT_LIVE);
    const now = await liveNicPorts(ctx, dom, mac);
    if (now !== null && sameForwardSet(now, desired)) return { applied: 'live-update' };
    why = 'libvirt accepts update-device on a passt NIC but does not apply port forward changes to it';
  } catch (e) {
    why = `libvirt refused to update the running NIC (${(e as Error).message})`;
  }

  // 2. Re-plug, when asked to, or when the guest agent answers (a guest that will take the NIC back, and lets
  //    roost see it happen).
  const agent = await agentAnswers(ctx, dom);
  if (mode === 'auto' && !agent) {
    return {
      applied: 'next-start',
      reason: `${why}; re-plugging the NIC would cut the guest's network and no guest agent answers to watch it come back`,
    };
  }
  return replug(ctx, dom, mac, liveXml, wanted, agent, opts);
}

async function agentAnswers(ctx: VmContext, dom: Domain): Promise<boolean> {
  try {
    await ctx.client.agentCommand(dom, JSON.stringify({ execute: 'guest-ping' }), 2);
    return true;
  } catch {
    return false;
  }
}

async function replug(
  ctx: VmContext,
  dom: Domain,
  mac: string,
  liveXml: string,
  wanted: string,
  agent: boolean,
  opts: ChangeOptions,
): Promise<LiveOutcome> {
  const { client } = ctx;
  const t0 = Date.now();
  await client.detachDevice(dom, interfaceXml(liveXml, mac), AFFECT_LIVE);
  // The call returns once the guest acknowledged the unplug or after libvirt's own 5 s wait; then the device
  // removal finishes asynchronously. Attach only once the NIC is really gone, or the PCI slot is still taken.
  const deadline = t0 + (opts.detachTimeoutMs ?? 30_000);
  while (hasInterface(await client.getXml(dom), mac)) {
    if (Date.now() > deadline) {
      throw new RoostError(
        'NIC_UNPLUG_TIMEOUT',
        `the guest did not release its network interface within ${Math.round((deadline - t0) / 1000)} s: the new forwards apply at the next start`,
        { hint: 'stop and start the VM: roost restart NAME' },
      );
    }
    await sleep(100);
  }
  try {
    await client.attachDevice(dom, interfaceXmlForAttach(wanted, mac), AFFECT_LIVE);
  } catch (e) {
    // Put the old NIC back so the guest is not left without one, then report.
    await client.attachDevice(dom, interfaceXmlForAttach(liveXml, mac), AFFECT_LIVE).catch(() => {});
    throw new RoostError(
      'NIC_REPLUG_FAILED',
      `re-plugging the NIC with the new forwards failed: ${(e as Error).message}`,
      {
        hint: 'the old forwards are active again; the new ones apply at the next start (roost restart NAME)',
        cause: e,
      },
    );
  }
  const nicGapMs = Date.now() - t0;
  if (!agent) return { applied: 'replug', nicGapMs };
  const until = Date.now() + (opts.guestWaitMs ?? 30_000);
  while (Date.now() < until) {
    if (await agentHasIpv4(ctx, dom, mac))
      return { applied: 'replug', nicGapMs, guestBackMs: Date.now() - t0 };
    await sleep(250);
  }
  return { applied: 'replug', nicGapMs, guestBackMs: null };
}

async function agentHasIpv4(ctx: VmContext, dom: Domain, mac: string): Promise<boolean> {
  try {
    const reply = await ctx.client.agentCommand(
      dom,
      JSON.stringify({ execute: 'guest-network-get-interfaces' }),
      2,
    );
    return parseAgentInterfaces(reply ?? '').some(
      (i) => i.mac === mac && i.addresses.some((a) => a.family === 'ipv4'),
    );
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
