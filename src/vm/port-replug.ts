// Re-plugging a running VM's passt NIC (ports.ts says why a port change needs it): unplug the NIC, wait until the
// guest released it, plug it back with the same MAC and PCI address and the new forwards, and the undo that puts
// the NIC with its old forwards back whatever state a failure or a lost daemon left it in.
import { basename } from 'node:path';
import { parseDomainXml } from '../domain-xml/parse.js';
import type { PortForwardSpec } from '../domain-xml/spec.js';
import { RoostError } from '../errors.js';
import { DomainDeviceModifyFlags, DomainXmlFlags, type Domain } from '../libvirt/types.js';
import { hasInterface, interfaceXml, interfaceXmlForAttach } from '../domain-xml/nic-xml.js';
import { sameForwardSet } from '../net/ports.js';
import type { VmContext } from './context.js';
import { libvirtVmProcesses, qemuRunDir } from './leftovers.js';
import type { Undo } from './rollback.js';

/** One NIC of a running domain, as roost re-plugs it: found by MAC in the live XML. */
export interface LiveNic {
  dom: Domain;
  mac: string;
}

/** The live NIC's forwards; null when the running domain has no NIC with that MAC (it is unplugged). */
export async function livePorts(ctx: VmContext, nic: LiveNic): Promise<PortForwardSpec[] | null> {
  const live = parseDomainXml(await ctx.client.getXml(nic.dom, DomainXmlFlags.SECURE));
  return live.nics.find((n) => n.mac === nic.mac)?.ports ?? null;
}

/**
 * Unplugs the NIC and waits until the guest released it. The call returns once the guest acknowledged the
 * unplug or after libvirt's own 5 s wait; the removal then finishes asynchronously, and the PCI slot is free only
 * once it has.
 */
export async function unplugNic(
  ctx: VmContext,
  nic: LiveNic,
  liveXml: string,
  timeoutMs = 30_000,
): Promise<void> {
  const t0 = Date.now();
  await ctx.client.detachDevice(nic.dom, interfaceXml(liveXml, nic.mac), DomainDeviceModifyFlags.LIVE);
  while (hasInterface(await ctx.client.getXml(nic.dom), nic.mac)) {
    if (Date.now() - t0 > timeoutMs) {
      throw new RoostError(
        'NIC_UNPLUG_TIMEOUT',
        `the guest did not release its network interface within ${Math.round(timeoutMs / 1000)} s`,
        { hint: `apply the new forwards with a restart instead: roost restart ${nic.dom.name}` },
      );
    }
    await sleep(100);
  }
}

/** Plugs the NIC described in `domainXml` (by MAC) back in, on its old PCI address. */
export async function plugNic(ctx: VmContext, nic: LiveNic, domainXml: string): Promise<void> {
  await endOrphanPasst(ctx, nic.dom);
  await ctx.client.attachDevice(
    nic.dom,
    interfaceXmlForAttach(domainXml, nic.mac),
    DomainDeviceModifyFlags.LIVE,
  );
}

/**
 * The undo of a re-plug: the NIC as it was before (`beforeXml`, its forwards `before`) is plugged back in — after
 * unplugging whatever NIC of that MAC is plugged now, should it carry other forwards. Resolves false when the
 * NIC already is as it was.
 */
export function restoreNicUndo(
  ctx: VmContext,
  nic: LiveNic,
  beforeXml: string,
  before: readonly PortForwardSpec[],
): Undo {
  return {
    what: `the re-plug of VM '${nic.dom.name}''s network interface (its old forwards are live again)`,
    fix: `roost restart ${nic.dom.name}`,
    run: async () => {
      const nowXml = await ctx.client.getXml(nic.dom, DomainXmlFlags.SECURE);
      if (hasInterface(nowXml, nic.mac)) {
        const now = await livePorts(ctx, nic);
        if (now !== null && sameForwardSet(now, before)) return false;
        await unplugNic(ctx, nic, nowXml);
      }
      await plugNic(ctx, nic, beforeXml);
      return true;
    },
  };
}

/**
 * Ends a passt that libvirt started for a NIC of this domain that the domain no longer has: a daemon that died
 * part way through plugging a NIC leaves it running, holding the forwarded ports the NIC plugged next needs.
 * Local sessions only; the passt is the user's own.
 */
async function endOrphanPasst(ctx: VmContext, dom: Domain): Promise<void> {
  const runDir = qemuRunDir(ctx);
  if (!runDir || dom.id <= 0) return;
  const prefix = `${dom.id}-${dom.name.slice(0, 20)}-`;
  const candidates = libvirtVmProcesses(runDir).filter(
    (p) => p.kind === 'passt' && basename(p.file).startsWith(prefix),
  );
  if (candidates.length === 0) return;
  const aliases = new Set(
    [...(await ctx.client.getXml(dom)).matchAll(/<alias name='([^']+)'\/>/g)].map((m) => m[1]!),
  );
  const orphans = candidates.filter(
    (p) =>
      !aliases.has(
        basename(p.file)
          .slice(prefix.length)
          .replace(/\.socket$/, ''),
      ),
  );
  for (const p of orphans) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  }
  // Its ports are free only once it is gone: the NIC plugged next binds them.
  for (let i = 0; i < 50 && orphans.some((p) => alive(p.pid)); i++) await sleep(20);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
