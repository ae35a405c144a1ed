// The one QEMU-namespace override roost writes into its domains, and why.
//
// After QEMU starts, libvirt reads back the guest CPU's features. When QEMU advertises the
// `unavailable-features` CPU property (capability `cpu-unavailable-features`; QEMU 10.0 does), libvirt 11.3 reads
// them one QMP `qom-get` per boolean CPU property: hundreds of round trips per start, most of a small guest's
// start time under TCG (BENCHMARKS.md has the numbers). QEMU ≥ 10.1 answers them in one `qom-list-get`, which
// libvirt 11.3 does not use yet.
//
// Taking that capability away for this domain (`<qemu:capabilities><qemu:del …/>`) sends libvirt down its older
// x86 path: three calls (`qom-list`, `feature-words`, `filtered-features`). That is all libvirt needs for roost's
// CPU modes (`maximum` under TCG, `host-passthrough` under KVM): no feature list to verify, check='none', and the
// live definition still gets the features QEMU enabled. libvirt notes the override as a `custom-hypervisor-feature`
// taint in the domain's log. The one thing the older path forbids — MSR-based features listed in `<cpu>` — roost
// never writes. `VmSpec.quickCpuProbe: false` leaves the block out.
import { childElements, element, type XmlElement } from './xml.js';

export const QEMU_XMLNS = 'http://libvirt.org/schemas/domain/qemu/1.0';
const PREFIX = 'qemu';
const CAPABILITY = 'cpu-unavailable-features';

/** The attribute that binds the `qemu:` prefix; libvirt drops `<qemu:…>` elements without it on `<domain>`. */
export const QEMU_XMLNS_ATTR = { [`xmlns:${PREFIX}`]: QEMU_XMLNS } as const;

export function buildQuickCpuProbe(): XmlElement {
  return element(`${PREFIX}:capabilities`, {}, [element(`${PREFIX}:del`, { capability: CAPABILITY })]);
}

/** True when `domain` takes the capability away, under whatever prefix its `<domain>` binds to QEMU's namespace. */
export function hasQuickCpuProbe(domain: XmlElement): boolean {
  const prefix = [...domain.attrs].find(
    ([name, value]) => name.startsWith('xmlns:') && value === QEMU_XMLNS,
  )?.[0];
  if (prefix === undefined) return false;
  const p = prefix.slice('xmlns:'.length);
  return childElements(domain, `${p}:capabilities`).some((caps) =>
    childElements(caps, `${p}:del`).some((del) => del.attrs.get('capability') === CAPABILITY),
  );
}
