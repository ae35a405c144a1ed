// A VM's shared folders as roost lists them (`roost mount ls`, `roost info`, the web console): each
// `<filesystem>` device of the domain with the guest directory roost's metadata recorded for its tag. Kept apart
// from mounts.ts so that listing VMs loads no more than the domain's parser.
import type { ParsedFilesystem } from '../domain-xml/filesystems.js';
import type { ParsedDomain } from '../domain-xml/parse.js';
import type { MountMetadata } from '../domain-xml/spec.js';
import type { MountRow } from '../shared/mounts.js';

function rowOf(fs: ParsedFilesystem, meta: MountMetadata | undefined): MountRow {
  return {
    tag: fs.tag ?? '',
    type: fs.type,
    hostDir: fs.source ?? '',
    hostDirGiven: meta?.hostDirGiven ?? null,
    guestDir: meta?.guestDir ?? null,
    mode: fs.readonly ? 'ro' : 'rw',
    accessmode: fs.accessmode,
    state: 'configured',
  };
}

/** The shared folders of a parsed domain, with the guest directories roost recorded. */
export function mountRows(parsed: ParsedDomain): MountRow[] {
  const meta = parsed.roost?.mounts ?? [];
  return parsed.filesystems.map((fs) =>
    rowOf(
      fs,
      meta.find((m) => m.tag === fs.tag),
    ),
  );
}
