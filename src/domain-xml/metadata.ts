// roost's element inside `<metadata>`:
//   <roost:vm xmlns:roost="https://roost.dev/xmlns/vm/1">
//     <roost:created-by>roost 0.1.0</roost:created-by> <roost:image-ref>…</roost:image-ref> …
//   </roost:vm>
// Other applications keep their own children of `<metadata>`; libvirt allows one child per namespace, so ours is
// found by namespace URI (whatever prefix it carries) and replaced as a whole.
import { sshUserProblem } from '../ssh-user.js';
import { checkString } from './check.js';
import { DomainXmlError } from './errors.js';
import { guestDirProblem, tagProblem } from './filesystems.js';
import { ROOST_XMLNS, ROOST_XMLNS_PREFIX, type MountMetadata, type RoostMetadata } from './spec.js';
import { childElements, element, textContent, type XmlElement } from './xml.js';

// Element names, in the order they are written.
const FIELDS = [
  ['createdBy', 'created-by'],
  ['createdAt', 'created-at'],
  ['imageRef', 'image-ref'],
  ['sshUser', 'ssh-user'],
  ['sshKeyPath', 'ssh-key-path'],
  ['autoPorts', 'auto-ports'],
] as const satisfies ReadonlyArray<readonly [keyof RoostMetadata, string]>;

function prefixOf(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? '' : name.slice(0, colon);
}

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** True when `el` is roost's element: its prefix (or default namespace) is bound to ROOST_XMLNS on the element. */
export function isRoostElement(el: XmlElement): boolean {
  if (localName(el.name) !== 'vm') return false;
  const prefix = prefixOf(el.name);
  return el.attrs.get(prefix === '' ? 'xmlns' : `xmlns:${prefix}`) === ROOST_XMLNS;
}

export function findRoostElement(metadata: XmlElement | undefined): XmlElement | undefined {
  return metadata === undefined ? undefined : childElements(metadata).find(isRoostElement);
}

export function buildRoostElement(meta: RoostMetadata): XmlElement {
  if (meta === null || typeof meta !== 'object') {
    throw new DomainXmlError('DOMAIN_XML_BAD_SPEC', 'roost metadata must be an object');
  }
  checkString(meta.createdBy, 'created-by');
  const children: XmlElement[] = [];
  for (const [key, tag] of FIELDS) {
    const value = meta[key];
    if (value === undefined) continue;
    const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : checkString(value, tag);
    const problem = typeof value === 'string' ? CHECKED[key]?.(value) : undefined;
    if (problem !== undefined) throw new DomainXmlError('DOMAIN_XML_BAD_SPEC', `${tag}: ${problem}`);
    children.push(element(`${ROOST_XMLNS_PREFIX}:${tag}`, {}, [text]));
  }
  for (const mount of meta.mounts ?? []) children.push(buildMountElement(mount));
  return element(`${ROOST_XMLNS_PREFIX}:vm`, { [`xmlns:${ROOST_XMLNS_PREFIX}`]: ROOST_XMLNS }, children);
}

// A shared folder: <roost:mount tag='roost0' guest-dir='/src'/> (host-dir-given when the user's path was a
// symlink or relative: what they typed, for `mount ls`).
function buildMountElement(mount: MountMetadata): XmlElement {
  const problem = mountProblem(mount);
  if (problem !== undefined) throw new DomainXmlError('DOMAIN_XML_BAD_SPEC', `mount: ${problem}`);
  if (mount.hostDirGiven !== undefined) checkString(mount.hostDirGiven, 'mount host-dir-given');
  return element(`${ROOST_XMLNS_PREFIX}:mount`, {
    tag: mount.tag,
    'guest-dir': mount.guestDir,
    'host-dir-given': mount.hostDirGiven,
  });
}

function mountProblem(mount: MountMetadata): string | undefined {
  if (mount === null || typeof mount !== 'object') return 'must be an object';
  return tagProblem(mount.tag) ?? guestDirProblem(mount.guestDir);
}

/** Why `value` cannot be a VM's ssh key path, or undefined when it can. */
export function sshKeyPathProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return 'not an absolute path';
  if (value.length > 4096) return 'longer than 4096 characters';
  // eslint-disable-next-line no-control-regex -- a control character is what is refused
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return 'contains a control character';
  return undefined;
}

// Fields that become ssh arguments and lines of the user's ssh config, with their checks.
const CHECKED: Partial<Record<keyof RoostMetadata, (v: string) => string | undefined>> = {
  sshUser: sshUserProblem,
  sshKeyPath: sshKeyPathProblem,
};

/**
 * Reads roost's element leniently: unknown children are ignored, a missing created-by reads as ''. Any domain
 * in the session may carry this element (virt-manager, an imported file), so it is untrusted: an ssh-user or
 * ssh-key-path that fails its check is left out and listed in `refused`, for the caller to say so.
 */
export function parseRoostElement(el: XmlElement): RoostMetadata {
  const prefix = prefixOf(el.name);
  const values = new Map<string, string>();
  const mounts: MountMetadata[] = [];
  const refused: { field: string; reason: string }[] = [];
  for (const child of childElements(el)) {
    if (prefixOf(child.name) !== prefix) continue;
    if (localName(child.name) === 'mount') {
      const mount = readMountElement(child);
      if ('reason' in mount) refused.push({ field: 'mount', reason: mount.reason });
      else mounts.push(mount);
      continue;
    }
    values.set(localName(child.name), textContent(child) ?? '');
  }
  const meta: RoostMetadata = { createdBy: values.get('created-by') ?? '' };
  if (mounts.length > 0) meta.mounts = mounts;
  if (refused.length > 0) meta.refused = refused;
  for (const [key, tag] of FIELDS) {
    const value = values.get(tag);
    if (value === undefined || key === 'createdBy') continue;
    if (key === 'autoPorts') {
      meta.autoPorts = value.trim() === 'yes';
      continue;
    }
    const problem = CHECKED[key]?.(value);
    if (problem === undefined) meta[key] = value;
    else (meta.refused ??= []).push({ field: tag, reason: problem });
  }
  return meta;
}

function readMountElement(el: XmlElement): MountMetadata | { reason: string } {
  const given = el.attrs.get('host-dir-given');
  const mount: MountMetadata = {
    tag: el.attrs.get('tag') ?? '',
    guestDir: el.attrs.get('guest-dir') ?? '',
    ...(given !== undefined ? { hostDirGiven: given } : {}),
  };
  const problem =
    mountProblem(mount) ??
    // eslint-disable-next-line no-control-regex -- a control character is what is refused
    (given !== undefined && /[\u0000-\u001f\u007f-\u009f]/.test(given)
      ? 'host-dir-given has a control character'
      : undefined);
  return problem === undefined ? mount : { reason: problem };
}
