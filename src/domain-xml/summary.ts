// What `roost ls` shows of a domain, read from the XML libvirt wrote without building its tree.
//
// `roost ls` reads every VM's XML in a short-lived process, where building every domain's tree with the full
// reader (parse.ts) was a large share of its time. These few fields sit at known places in libvirt's own layout — `<domain type>`, then
// `<metadata>`, then `<memory>` and `<vcpu>` before anything else of those names, then `<devices>` — so native
// regular expressions find them; the NICs still go through the strict reader (parseNicsOnly). summary.test.ts
// checks that this gives what parseDomainXml gives, on libvirt's output and on every shape roost builds.
import { countOf, mibOf, parseNicsOnly, type ParsedNic } from './parse.js';
import { ROOST_XMLNS } from './spec.js';

export interface DomainSummary {
  domainType: string;
  accel: 'kvm' | 'tcg' | undefined;
  cpus: number;
  memoryMiB: number;
  nics: ParsedNic[];
  /** The domain carries roost's metadata element (roost made it). */
  managedByRoost: boolean;
}

const DOMAIN_TAG = /<domain\b([^<>]*)>/;
const TYPE_ATTR = /\stype=(["'])([^"']*)\1/;
const UNIT_ATTR = /\sunit=(["'])([^"']*)\1/;
// The first of each after </metadata> (or from the top): `<memory unit='KiB'>N</memory>`, `<vcpu …>N</vcpu>`.
// Later elements of those names (memory devices, <vcpus><vcpu id=…/>) come after them and are self-closing or
// differently shaped; \b keeps <memoryBacking> and <vcpus> out. No pattern here crosses a '<' inside a tag (libvirt
// escapes it in attribute values), so over a hostile document each try stops at the next tag, never at the end.
const MEMORY = /<memory\b([^<>]*)>([^<]*)<\/memory>/;
const VCPU = /<vcpu\b[^<>]*>([^<]*)<\/vcpu>/;
// roost's element: `<PREFIX:vm … xmlns:PREFIX='…roost…'>` (or a default namespace), as isRoostElement reads it.
const ROOST_URI = ROOST_XMLNS.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
const ROOST_VM = new RegExp(
  `<(?:([A-Za-z_][\\w.-]*):)?vm\\b[^<>]*\\sxmlns(?::([A-Za-z_][\\w.-]*))?=(["'])${ROOST_URI}\\3`,
);

export function parseDomainSummary(xml: string): DomainSummary {
  const domainType = DOMAIN_TAG.exec(xml)?.[1]?.match(TYPE_ATTR)?.[2] ?? '';
  const metadataEnd = xml.indexOf('</metadata>');
  const rest = metadataEnd < 0 ? xml : xml.slice(metadataEnd);
  const memory = MEMORY.exec(rest);
  const roostVm = metadataEnd < 0 ? null : ROOST_VM.exec(xml.slice(0, metadataEnd));
  return {
    domainType,
    accel: domainType === 'kvm' ? 'kvm' : domainType === 'qemu' ? 'tcg' : undefined,
    cpus: countOf(VCPU.exec(rest)?.[1]) ?? 1,
    memoryMiB: (memory && mibOf(memory[2], memory[1]!.match(UNIT_ATTR)?.[2])) ?? 0,
    nics: parseNicsOnly(xml),
    // The prefix of the element and the one it binds must be the same (or both absent).
    managedByRoost: roostVm !== null && roostVm[1] === roostVm[2],
  };
}
