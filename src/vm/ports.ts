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
import { parseDomainXml } from '../domain-xml/parse.js';
import type { PortForwardSpec } from '../domain-xml/spec.js';
import { UsageError } from '../errors.js';
import { DomainDefineFlags, DomainDeviceModifyFlags, DomainXmlFlags, type Domain } from '../libvirt/types.js';
import { parseAgentInterfaces } from '../net/ip-sources.js';
import { ConnectionClosedError } from '../libvirt/errors.js';
import { hasInterface, interfaceXml } from '../domain-xml/nic-xml.js';
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
import { lookupVm } from './lookup.js';
import { checkForwardsBound, listenersBefore } from './port-bound.js';
import { isRemote, remotePortsOf } from './remote.js';
import { livePorts, plugNic, restoreNicUndo, unplugNic, type LiveNic } from './port-replug.js';
import { Rollback, withRollback } from './rollback.js';
import { DaemonGoneError, explainDaemonLoss, InterruptedError, Steps } from './steps.js';
import type { PortChangeResult } from '../shared/ports.js';

export type ApplyMode = 'auto' | 'now' | 'next-start';

export type { ForwardState, PortList, PortRow } from '../shared/api-types.js';

export type { Applied, PortChangeResult } from '../shared/ports.js';

import { liveNicPorts, passtNic } from './port-list.js';
export { listPorts, portRows } from './port-list.js';

export interface ChangeOptions {
  apply?: ApplyMode;
  /** How long to wait for the guest to release its NIC on unplug (ms). */
  detachTimeoutMs?: number;
  /** How long to wait for the guest agent to report an address after a replug (ms). */
  guestWaitMs?: number;
  /** Aborted (reason: the signal's name) when the user interrupts: see "Interruptions" below. */
  signal?: AbortSignal;
  /** Aborted when the user interrupts again during the undo: what is not yet undone is reported as left. */
  stopRollback?: AbortSignal;
  /** For the test hook (steps.ts): default process.env. */
  env?: NodeJS.ProcessEnv;
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
  return change(ctx, name, 'add', opts, async (current, live) => {
    const plan = planAdd(current, forwards, name);
    // A forward the running NIC still has (removed from the config, not yet from passt) is bound by this VM's
    // own passt: probing it would call our own listener "another program".
    const held = (f: PortForward) => (live ?? []).map(fromPortForwardSpec).some((g) => sameForward(f, g));
    const others = await existingForwards(ctx.client, name);
    // Over ssh passt binds on the remote host: its listeners are asked (a probe here would test this host's).
    const remote = isRemote(ctx) ? await remotePortsOf(ctx) : undefined;
    await checkForwards(
      plan.added.filter((f) => !held(f)),
      { existing: others, remote },
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
  return change(ctx, name, 'rm', opts, (current) => Promise.resolve(planRemove(current, parsed)));
}

// Interruptions and a dying daemon. A change is a short sequence of named steps (steps.ts; hook names
// port:define, port:update, port:detach, port:attach, port:done): save the new forwards in the definition, try
// the running NIC in place, unplug it, plug it back with the new forwards. The VM's saved forwards and its live
// NIC end either as they were before or as asked, never one of each:
//  - a signal before the NIC is unplugged stops the change and undoes the saved forwards (exit 130);
//  - once the NIC is unplugged, the change finishes (the VM must not be left without a network interface) and
//    says so, then exits 130;
//  - a failure, or a daemon that dies under a step, undoes what was done: the NIC with its old forwards is
//    plugged back (over a new daemon, which starts on demand) and the old forwards are saved again. Only a
//    plug-in the lost daemon had already carried out is kept: then the change is complete, and is reported so.

/** What the change will save and apply, with what the VM has now. */
interface ChangePlan {
  name: string;
  dom: Domain;
  /** The persistent definition (secure, inactive) before the change. */
  xml: string;
  index: number;
  mac: string;
  /** The forwards the definition has before the change. */
  saved: PortForwardSpec[];
  running: boolean;
  /** The running NIC's forwards before the change; null when the VM is off (or the NIC is not plugged). */
  live: PortForwardSpec[] | null;
  edit: ForwardsEdit;
  /** How a command that puts the old forwards back reads (the fix, should the undo fail). */
  revert: string;
}

async function change(
  ctx: VmContext,
  name: string,
  verb: 'add' | 'rm',
  opts: ChangeOptions,
  plan: (current: PortForwardSpec[], live: PortForwardSpec[] | null) => Promise<ForwardsEdit>,
): Promise<PortChangeResult> {
  const steps = new Steps('port', { ...opts, title: `port ${verb}` });
  const rollback = new Rollback();
  let p: ChangePlan;
  try {
    p = await readPlan(ctx, name, plan);
  } catch (e) {
    throw explainDaemonLoss(e, `reading VM '${name}'`);
  }
  const warnings = p.edit.added.filter(exposesToNetwork).map(exposureWarning);
  const base = {
    name,
    added: p.edit.added.map(formatPortForward),
    removed: p.edit.removed.map(formatPortForward),
    already: p.edit.already.map(formatPortForward),
    warnings,
    ports: p.edit.next.map((f) => formatPortForward(fromPortForwardSpec(f))),
  };
  try {
    return { ...base, ...(await applyChange(ctx, p, opts, steps, rollback)) };
  } catch (err) {
    if (rollback.empty) throw nothingChanged(err);
    await steps.beforeRollback();
    const report = await rollback.run(opts.stopRollback);
    if (report.undone.length === 0 && report.left.length === 0) throw nothingChanged(err);
    throw withRollback(err, report);
  }
}

async function readPlan(
  ctx: VmContext,
  name: string,
  plan: (current: PortForwardSpec[], live: PortForwardSpec[] | null) => Promise<ForwardsEdit>,
): Promise<ChangePlan> {
  const dom = await lookupVm(ctx, name);
  // SECURE keeps secrets (e.g. a VNC password) in the XML we define again; INACTIVE is the persistent config.
  const xml = await ctx.client.getXml(dom, DomainXmlFlags.INACTIVE | DomainXmlFlags.SECURE);
  const { index, nic } = passtNic(parseDomainXml(xml), name);
  const running = await ctx.client.isActive(dom);
  const live = running ? await liveNicPorts(ctx, dom, nic.mac) : null;
  // Every check happens in plan(), before anything is written.
  const edit = await plan(nic.ports, live);
  const revert = [
    edit.added.length > 0 && `roost port rm ${name} ${edit.added.map(formatPortForward).join(' ')}`,
    edit.removed.length > 0 && `roost port add ${name} ${edit.removed.map(formatPortForward).join(' ')}`,
  ]
    .filter(Boolean)
    .join(' and ');
  return { name, dom, xml, index, mac: nic.mac, saved: nic.ports, running, live, edit, revert };
}

/** An interruption or a lost daemon before the first change: nothing was changed, and the message says so. */
function nothingChanged(err: unknown): unknown {
  if (err instanceof InterruptedError) {
    return new InterruptedError(err.signal, `${err.message}: nothing was changed`);
  }
  const e = explainDaemonLoss(err, 'reading the VM');
  if (!(e instanceof DaemonGoneError)) return e;
  return new DaemonGoneError(e.code, `${e.message}: nothing was changed`, { hint: e.hint, cause: e.cause });
}

async function applyChange(
  ctx: VmContext,
  p: ChangePlan,
  opts: ChangeOptions,
  steps: Steps,
  rollback: Rollback,
): Promise<LiveOutcome> {
  const { client } = ctx;
  const { edit, name } = p;
  const configChanged = !sameForwardSet(p.saved, edit.next);
  if (configChanged) {
    await steps.run('define', 'saving the new forwards', async () => {
      rollback.add({
        what: `the change to VM '${name}''s saved forwards`,
        fix: p.revert,
        run: async () => {
          const now = parseDomainXml(await client.getXml(p.dom, DomainXmlFlags.INACTIVE)).nics.find(
            (n) => n.mac === p.mac,
          );
          if (now && sameForwardSet(now.ports, p.saved)) return false;
          await client.defineDomain(p.xml, DomainDefineFlags.VALIDATE);
        },
      });
      await client.defineDomain(setPortForwards(p.xml, p.index, edit.next), DomainDefineFlags.VALIDATE);
    });
  }
  const done = async (outcome: LiveOutcome): Promise<LiveOutcome> => {
    // The last boundary: an interruption during the save is still undone.
    await steps.boundary('done');
    return outcome;
  };
  if (!p.running) return done({ applied: configChanged ? 'stopped' : 'unchanged' });
  if (p.live !== null && sameForwardSet(p.live, edit.next)) {
    return done({ applied: configChanged ? 'live-update' : 'unchanged' });
  }
  const mode = opts.apply ?? 'auto';
  if (mode === 'next-start') return done({ applied: 'next-start', reason: 'asked for --apply next-start' });
  const nic: LiveNic = { dom: p.dom, mac: p.mac };
  const liveXml = await client.getXml(p.dom, DomainXmlFlags.SECURE);
  if (!hasInterface(liveXml, p.mac) || p.live === null) {
    return done({ applied: 'next-start', reason: 'the running VM has no NIC with that MAC address' });
  }
  const before = p.live;
  const wanted = setPortForwards(liveXml, p.mac, edit.next);

  // 1. In place. Believe only the live XML afterwards: libvirt 11.3 accepts the call and ignores the change.
  const why = await steps.run('update', 'updating the running network interface', async () => {
    rollback.add(restoreNicUndo(ctx, nic, liveXml, before));
    return updateInPlace(ctx, nic, wanted, edit.next);
  });
  if (why === null) return { applied: 'live-update' };

  // 2. Re-plug, when asked to, or when the guest agent answers (a guest that will take the NIC back, and lets
  //    roost see it happen).
  const agent = await agentAnswers(ctx, p.dom);
  if (mode === 'auto' && !agent) {
    return done({
      applied: 'next-start',
      reason: `${why}; re-plugging the NIC would cut the guest's network and no guest agent answers to watch it come back`,
    });
  }
  return replug(ctx, nic, liveXml, wanted, agent, opts, steps);
}

/** Tries update-device; null when the live NIC then has `desired`, else why not. */
async function updateInPlace(
  ctx: VmContext,
  nic: LiveNic,
  wanted: string,
  desired: PortForwardSpec[],
): Promise<string | null> {
  try {
    await ctx.client.updateDevice(nic.dom, interfaceXml(wanted, nic.mac), DomainDeviceModifyFlags.LIVE);
  } catch (e) {
    if (e instanceof ConnectionClosedError) throw e;
    return `libvirt refused to update the running NIC (${(e as Error).message})`;
  }
  const now = await livePorts(ctx, nic);
  if (now !== null && sameForwardSet(now, desired)) return null;
  return 'libvirt accepts update-device on a passt NIC but does not apply port forward changes to it';
}

type LiveOutcome = Pick<
  PortChangeResult,
  'applied' | 'reason' | 'nicGapMs' | 'guestBackMs' | 'recovered' | 'interruptedBy'
>;

async function agentAnswers(ctx: VmContext, dom: Domain): Promise<boolean> {
  try {
    await ctx.client.agentCommand(dom, JSON.stringify({ execute: 'guest-ping' }), 2);
    return true;
  } catch (e) {
    if (e instanceof ConnectionClosedError) throw explainDaemonLoss(e, 'asking the guest agent');
    return false;
  }
}

async function replug(
  ctx: VmContext,
  nic: LiveNic,
  liveXml: string,
  wanted: string,
  agent: boolean,
  opts: ChangeOptions,
  steps: Steps,
): Promise<LiveOutcome> {
  const t0 = Date.now();
  const desired = parseDomainXml(wanted).nics.find((n) => n.mac === nic.mac)!.ports;
  await steps.run('detach', 'unplugging the network interface', () =>
    unplugNic(ctx, nic, liveXml, opts.detachTimeoutMs),
  );
  // Past the point of no return: the NIC is out, and goes back in with the new forwards whatever comes.
  let recovered: string | undefined;
  // The host's listeners before the new passt starts, for the check below; read before the step, so that a
  // fault at the step's start meets the plug-in itself.
  const before = await listenersBefore(ctx, desired.map(fromPortForwardSpec));
  await steps.run(
    'attach',
    'plugging the network interface back in with the new forwards',
    () =>
      plugNic(ctx, nic, wanted).catch(async (e: unknown) => {
        if (!(e instanceof ConnectionClosedError)) throw e;
        // The daemon went away with the plug-in in flight: the new one knows whether it was carried out.
        const now = await livePorts(ctx, nic).catch(() => null);
        if (now === null || !sameForwardSet(now, desired)) throw e;
        recovered =
          'the libvirt daemon went away while plugging the network interface back in; it had done so: the change is complete';
      }),
    { stoppable: false },
  );
  // passt drops a forward whose port it cannot bind without failing: then the change is undone.
  await steps.run(
    'check',
    'checking the forwards are listened on',
    () => checkForwardsBound(ctx, nic.dom, desired.map(fromPortForwardSpec), before),
    { stoppable: false },
  );
  const nicGapMs = Date.now() - t0;
  const interruptedBy = opts.signal?.aborted ? String(opts.signal.reason) : undefined;
  const extra = { ...(recovered ? { recovered } : {}), ...(interruptedBy ? { interruptedBy } : {}) };
  if (!agent || interruptedBy) return { applied: 'replug', nicGapMs, ...extra };
  const until = Date.now() + (opts.guestWaitMs ?? 30_000);
  while (Date.now() < until && !opts.signal?.aborted) {
    if (await agentHasIpv4(ctx, nic.dom, nic.mac))
      return { applied: 'replug', nicGapMs, guestBackMs: Date.now() - t0, ...extra };
    await sleep(250);
  }
  return { applied: 'replug', nicGapMs, guestBackMs: null, ...extra };
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
