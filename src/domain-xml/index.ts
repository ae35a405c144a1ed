// Public surface of the domain-xml module: typed VM spec ⇄ libvirt domain XML, and edits that keep what roost
// does not model. The XML tree helpers stay internal.
export * from './spec.js';
export { DomainXmlError, isDomainXmlError, type DomainXmlErrorCode } from './errors.js';
export { buildDomainXml } from './build.js';
export { parseDomainXml, toVmSpec, type ParsedDisk, type ParsedDomain, type ParsedNic } from './parse.js';
export type { PortExclusion } from './ports.js';
export { MAX_TAG_BYTES, guestDirProblem, tagProblem, type ParsedFilesystem } from './filesystems.js';
export {
  addDisk,
  addFilesystem,
  removeFilesystem,
  removeDisk,
  setMemory,
  setPortForwards,
  setRoostMetadata,
  setVcpus,
  type NicSelector,
} from './edit.js';
