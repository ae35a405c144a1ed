// Does this libvirt accept `<backend type='passt'/>`? Debian 12's libvirt 9.0.0 does not ("Invalid value for
// attribute 'type' in element 'backend'"), and roost's default networking depends on it (docs/architecture.md,
// host facts).
//
// New libvirt says so in its domain capabilities (`<interface><enum name='backendType'>`). Older libvirt has no
// such enum, so the only way to know is to ask: define a throwaway domain with the passt backend under
// VIR_DOMAIN_DEFINE_VALIDATE (schema check) and undefine it at once. The decision itself is a pure function of
// the capabilities XML and the probe's outcome, so it is tested with fixtures of both libvirts.
import { randomBytes } from 'node:crypto';
import { DomainDefineFlags, type Domain } from '../../libvirt/types.js';
import { LibvirtError, VirErrorCode } from '../../libvirt/errors.js';
import { parseDomainCaps } from './domcaps.js';
import type { CheckResult } from './types.js';

export const PROBE_PREFIX = 'roost-doctor-probe-';

/** What defining the probe domain said. */
export type PasstProbeResult =
  | { outcome: 'accepted' }
  /** libvirt rejected the XML: it does not know the passt backend. */
  | { outcome: 'refused'; message: string }
  /** The probe failed for another reason (daemon gone, no x86_64 emulator...): no answer. */
  | { outcome: 'error'; message: string };

/** Either the answer, or "define the probe domain and call again with its result". */
export type PasstDecision = { result: CheckResult } | { needsProbe: true };

const ID = 'libvirt-passt';
const TITLE = 'libvirt accepts passt';

/**
 * Decides from the domain capabilities XML (null when they could not be read) and, when those do not say,
 * from the probe. `fix` is the command that installs a libvirt that knows passt.
 */
export function decidePasstSupport(
  domcapsXml: string | null,
  probe: PasstProbeResult | undefined,
  fix: string,
): PasstDecision {
  const refusedDetail = (why: string) =>
    `${why}: roost's default networking (passt, with port forwards) cannot work; Debian 12's own libvirt 9.0.0 is like this, bookworm-backports has one that works`;

  if (domcapsXml !== null) {
    const backends = parseDomainCaps(domcapsXml).interfaceBackends;
    if (backends?.includes('passt')) {
      return {
        result: {
          id: ID,
          title: TITLE,
          status: 'ok',
          detail: `the domain capabilities list passt as an interface backend (${backends.join(', ')})`,
        },
      };
    }
    if (backends) {
      return {
        result: {
          id: ID,
          title: TITLE,
          status: 'fail',
          detail: refusedDetail(`this libvirt's interface backends are ${backends.join(', ') || 'none'}`),
          fix,
        },
      };
    }
  }
  if (!probe) return { needsProbe: true };
  switch (probe.outcome) {
    case 'accepted':
      return {
        result: {
          id: ID,
          title: TITLE,
          status: 'ok',
          detail: 'a throwaway domain with the passt backend passed validation (and was removed)',
        },
      };
    case 'refused':
      return {
        result: {
          id: ID,
          title: TITLE,
          status: 'fail',
          detail: refusedDetail(`libvirt refuses <backend type='passt'/> (${oneLine(probe.message)})`),
          fix,
        },
      };
    case 'error':
      return {
        result: {
          id: ID,
          title: TITLE,
          status: 'warn',
          detail: `could not find out (${oneLine(probe.message)})`,
        },
      };
  }
}

/** The probe domain: nothing but a user NIC with the given backend (tests pass a bogus one). */
export function probeDomainXml(name: string, backend = 'passt', arch = 'x86_64'): string {
  return [
    `<domain type='qemu'>`,
    `  <name>${name}</name>`,
    `  <description>roost doctor: checks that libvirt accepts the passt backend; removed at once</description>`,
    `  <memory unit='MiB'>16</memory>`,
    `  <os><type arch='${arch}'>hvm</type></os>`,
    `  <devices>`,
    `    <interface type='user'><backend type='${backend}'/></interface>`,
    `  </devices>`,
    `</domain>`,
  ].join('\n');
}

/** The part of LibvirtClient the probe uses. */
export interface ProbeClient {
  defineDomain(xml: string, flags?: number): Promise<Domain>;
  undefineDomain(dom: Domain, flags?: number): Promise<void>;
}

// virErrorNumber values that mean "this XML is not acceptable": the probe XML is otherwise minimal and valid,
// so any of them means the backend was refused.
const REFUSAL_CODES: ReadonlySet<number> = new Set([
  VirErrorCode.XML_ERROR,
  VirErrorCode.XML_DETAIL,
  VirErrorCode.CONFIG_UNSUPPORTED,
  VirErrorCode.XML_INVALID_SCHEMA,
]);

/**
 * Defines `roost-doctor-probe-<random>` with the passt backend and VALIDATE, and undefines it at once — in a
 * finally, so it is never left behind when the define succeeded.
 */
export async function probePasstBackend(
  client: ProbeClient,
  opts: { backend?: string; arch?: string } = {},
): Promise<PasstProbeResult> {
  const name = PROBE_PREFIX + randomBytes(6).toString('hex');
  let dom: Domain;
  try {
    dom = await client.defineDomain(
      probeDomainXml(name, opts.backend, opts.arch),
      DomainDefineFlags.VALIDATE,
    );
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    if (e instanceof LibvirtError && REFUSAL_CODES.has(e.virErrorCode))
      return { outcome: 'refused', message };
    return { outcome: 'error', message };
  }
  try {
    await client.undefineDomain(dom);
  } catch (e) {
    return {
      outcome: 'error',
      message: `the probe domain ${name} was defined but could not be removed (virsh undefine ${name}): ${(e as Error).message}`,
    };
  }
  return { outcome: 'accepted' };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ').trim();
}
