// Shared folders in the domain XML: `<filesystem>` devices (virtio-9p or virtiofs) and the shared memory backing
// virtiofs needs. Built for new domains (build.ts), read back (parse.ts), added to and removed from existing ones
// (addFilesystem, removeFilesystem) without touching anything else.
//
//  - 9p: `<filesystem type='mount' accessmode='squash'>`. QEMU serves the directory itself, as the user. The
//    access mode decides what happens with the owner a guest asks for: 'passthrough' makes QEMU chown files to
//    it, which an unprivileged QEMU cannot do (every file the guest creates as another uid fails); 'mapped' keeps
//    the guest's owner and mode in xattrs and leaves the host files 0600/0700, so a program built in the guest is
//    not executable on the host; 'squash' (QEMU's security_model=none) is passthrough with failed chowns
//    ignored: host files stay the user's, with the modes the guest set — what Lima does for 9p.
//  - virtiofs: `<driver type='virtiofs'/>`, run by libvirt's virtiofsd (session mode maps the guest's root to the
//    user, libvirt ≥ 10.0), plus `<memoryBacking><source type='memfd'/><access mode='shared'/>`: virtiofsd reads
//    the guest's memory directly.
import { checkPath } from './check.js';
import { DomainXmlError } from './errors.js';
import type { FilesystemSpec, FilesystemType } from './spec.js';
import {
  childElements,
  element,
  ensureChild,
  firstChild,
  insertChild,
  removeChild,
  type XmlElement,
} from './xml.js';

/** A 9p mount tag is at most 31 bytes (QEMU's and the kernel's limit); roost keeps to letters, digits, `_.-`. */
export const MAX_TAG_BYTES = 31;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}$/;

/** Why `tag` cannot be a mount tag, or undefined when it can. */
export function tagProblem(tag: string): string | undefined {
  if (typeof tag !== 'string' || !TAG.test(tag)) {
    return `'${String(tag)}' is not a mount tag (1 to ${MAX_TAG_BYTES} letters, digits, '_', '.' or '-', not starting with '.' or '-')`;
  }
  return undefined;
}

/**
 * Why `dir` cannot be a guest mount point, or undefined when it can: absolute and normalised, and made of
 * characters that go into an fstab line and a shell-free mount(8) call as they are (no spaces, quotes,
 * backslashes or control characters).
 */
export function guestDirProblem(dir: string): string | undefined {
  if (typeof dir !== 'string' || !dir.startsWith('/')) return `'${String(dir)}' is not an absolute path`;
  if (dir.length > 1024) return 'longer than 1024 characters';
  if (!/^[A-Za-z0-9_.,+@%=~:/-]+$/.test(dir)) {
    return `'${dir}' has a character roost does not put in a guest path (allowed: letters, digits and _ . , + @ % = ~ : / -)`;
  }
  if (dir !== '/' && (dir.endsWith('/') || /\/\/|\/\.\.?(\/|$)/.test(dir))) {
    return `'${dir}' is not a normalised path (no '//', '.', '..' or trailing '/')`;
  }
  return undefined;
}

function bad(message: string): DomainXmlError {
  return new DomainXmlError('DOMAIN_XML_BAD_SPEC', message);
}

export function checkFilesystem(fs: FilesystemSpec, what: string): void {
  if (fs === null || typeof fs !== 'object') throw bad(`${what} must be an object`);
  if (fs.type !== '9p' && fs.type !== 'virtiofs') throw bad(`${what}: type must be 9p or virtiofs`);
  checkPath(fs.source, `${what} source`);
  const problem = tagProblem(fs.tag);
  if (problem !== undefined) throw bad(`${what}: ${problem}`);
  if (fs.binary !== undefined) checkPath(fs.binary, `${what} virtiofsd`);
}

export function checkFilesystems(list: readonly FilesystemSpec[] | undefined): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw bad('filesystems must be a list');
  const tags = new Set<string>();
  list.forEach((fs, i) => {
    checkFilesystem(fs, `filesystem ${i + 1}`);
    if (tags.has(fs.tag)) throw bad(`mount tag ${fs.tag} is used twice`);
    tags.add(fs.tag);
  });
}

export function buildFilesystem(fs: FilesystemSpec, what = 'filesystem'): XmlElement {
  checkFilesystem(fs, what);
  if (fs.type === 'virtiofs') {
    return element('filesystem', { type: 'mount', accessmode: 'passthrough' }, [
      element('driver', { type: 'virtiofs', queue: '1024' }),
      fs.binary !== undefined && element('binary', { path: fs.binary }),
      element('source', { dir: fs.source }),
      element('target', { dir: fs.tag }),
      fs.readonly === true && element('readonly'),
    ]);
  }
  return element('filesystem', { type: 'mount', accessmode: 'squash' }, [
    element('source', { dir: fs.source }),
    element('target', { dir: fs.tag }),
    fs.readonly === true && element('readonly'),
  ]);
}

/** `<memoryBacking>` with memfd, shared: what virtiofsd needs to reach the guest's memory. */
export function buildSharedMemoryBacking(): XmlElement {
  return element('memoryBacking', {}, [
    element('source', { type: 'memfd' }),
    element('access', { mode: 'shared' }),
  ]);
}

export function needsSharedMemory(list: readonly FilesystemSpec[] | undefined): boolean {
  return (list ?? []).some((fs) => fs.type === 'virtiofs');
}

export interface ParsedFilesystem {
  /** '9p' or 'virtiofs' as roost knows them; anything else (a hand-made `<filesystem type='ram'>`…) as written. */
  type: FilesystemType | string;
  /** `<filesystem accessmode>`; libvirt's default is passthrough. */
  accessmode: string;
  /** The host directory (`<source dir>`), undefined for other source kinds. */
  source: string | undefined;
  /** The mount tag (`<target dir>`). */
  tag: string | undefined;
  readonly: boolean;
}

export function parseFilesystem(el: XmlElement): ParsedFilesystem {
  const driver = firstChild(el, 'driver')?.attrs.get('type');
  const kind = el.attrs.get('type') ?? 'mount';
  return {
    type: driver === 'virtiofs' ? 'virtiofs' : kind === 'mount' ? '9p' : kind,
    accessmode: el.attrs.get('accessmode') ?? 'passthrough',
    source: firstChild(el, 'source')?.attrs.get('dir'),
    tag: firstChild(el, 'target')?.attrs.get('dir'),
    readonly: firstChild(el, 'readonly') !== undefined,
  };
}

/** Whether `<memoryBacking>` already gives shared memory (memfd or file source with shared access). */
export function hasSharedMemory(domain: XmlElement): boolean {
  const backing = firstChild(domain, 'memoryBacking');
  return firstChild(backing, 'access')?.attrs.get('mode') === 'shared';
}

// Elements libvirt writes before <memoryBacking>.
const BEFORE_MEMORY_BACKING = new Set([
  'name',
  'uuid',
  'genid',
  'title',
  'description',
  'metadata',
  'maxMemory',
  'memory',
  'currentMemory',
]);

/** Adds (or completes) `<memoryBacking>` so the guest's memory is shared memfd memory. */
export function ensureSharedMemory(domain: XmlElement): void {
  let backing = firstChild(domain, 'memoryBacking');
  if (backing === undefined) {
    let at = 0;
    childElements(domain).forEach((el, i) => {
      if (BEFORE_MEMORY_BACKING.has(el.name)) at = i + 1;
    });
    backing = element('memoryBacking');
    insertChild(domain, backing, 0, at);
  }
  // A hugepages or file source shares as well; only a missing source becomes memfd.
  if (firstChild(backing, 'source') === undefined)
    insertChild(backing, element('source', { type: 'memfd' }), 1);
  const access = ensureChild(backing, 'access', 1);
  access.attrs.set('mode', 'shared');
}

/** Adds a `<filesystem>` after the last disk, controller or filesystem (libvirt's order); a tag in use is refused. */
export function insertFilesystem(domain: XmlElement, fs: FilesystemSpec): void {
  const devices = ensureChild(domain, 'devices', 0);
  const taken = childElements(devices, 'filesystem').map(parseFilesystem);
  if (taken.some((t) => t.tag === fs.tag)) {
    throw new DomainXmlError('DOMAIN_XML_BAD_SPEC', `the domain already has a filesystem with tag ${fs.tag}`);
  }
  const built = buildFilesystem(fs);
  const elements = childElements(devices);
  let at = elements[0]?.name === 'emulator' ? 1 : 0;
  elements.forEach((el, i) => {
    if (el.name === 'disk' || el.name === 'controller' || el.name === 'filesystem') at = i + 1;
  });
  insertChild(devices, built, 1, at);
  if (fs.type === 'virtiofs') ensureSharedMemory(domain);
}

/** Removes the `<filesystem>` with this tag; returns whether there was one. */
export function deleteFilesystem(domain: XmlElement, tag: string): boolean {
  const devices = firstChild(domain, 'devices');
  if (devices === undefined) return false;
  const found = childElements(devices, 'filesystem').find(
    (el) => firstChild(el, 'target')?.attrs.get('dir') === tag,
  );
  if (found === undefined) return false;
  removeChild(devices, found);
  return true;
}
