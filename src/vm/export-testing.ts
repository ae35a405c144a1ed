// Tests only: a VM as export reads it (CurrentVm), from a domain spec built by roost's own builder and parsed back.
import { buildDomainXml } from '../domain-xml/build.js';
import { parseDomainXml } from '../domain-xml/parse.js';
import type { VmSpec as DomainSpec } from '../domain-xml/spec.js';
import { sampleSpec } from '../domain-xml/testing.js';
import type { Domain } from '../libvirt/types.js';
import type { CurrentVm } from './apply-state.js';

/** sampleSpec with `spec` over it, defined (not running), a 20 GiB disk; `over` replaces any field. */
export function currentVmOf(spec: Partial<DomainSpec> = {}, over: Partial<CurrentVm> = {}): CurrentVm {
  const parsed = parseDomainXml(buildDomainXml(sampleSpec(spec)));
  return {
    name: parsed.name,
    dom: { name: parsed.name, uuid: Buffer.alloc(16), id: -1 } as Domain,
    running: false,
    parsed,
    appliedFrom: undefined,
    ports: [],
    diskBytes: 20 * 1024 ** 3,
    autostart: false,
    ...over,
  };
}
