// The guest-side steps of roost cp through the guest agent, as argument arrays for guest-exec. The agent runs
// them as root, in directories a guest user may be able to write: so no step opens, changes or reads a file by a
// path a guest user could swap for a symbolic link in between. The bytes are staged in a root-only directory
// (mktemp -d under /var/tmp, a sticky directory: nobody else can rename or enter it), the directory the copy goes
// to or comes from is entered once and used as the working directory from then on (a rename of its path changes
// nothing), and the upload's last step is a rename(2), which replaces a link at the destination instead of
// following it. See docs/files.md and docs/security.md.

/**
 * `walk DIR`: cd from / along DIR's components. A symbolic link is followed only where it sits in a directory
 * that only root can change (root's, not group- or world-writable: /lib → usr/lib); elsewhere a component that
 * turns out to be a link (pwd -P is not where the name was) stops the copy, exit 3.
 */
const WALK = `walk() {
  cd / || return 1
  rest=\${1#/}
  while [ -n "$rest" ]; do
    c=\${rest%%/*}
    case $rest in */*) rest=\${rest#*/} ;; *) rest= ;; esac
    case $c in ''|.) continue ;; esac
    here=$(pwd -P)
    lock=$(stat -c '%u %A' .) || return 1
    cd -- "$c" || return 1
    case $lock in '0 d'????-??-*) continue ;; esac
    [ "$c" = .. ] || [ "$(pwd -P)" = "\${here%/}/$c" ] || {
      echo "\${here%/}/$c is a symbolic link in a directory a guest user can change: roost does not follow it as root" >&2
      return 3
    }
  done
}
`;

/** A root-only directory to stage the bytes in: under /var/tmp (a disk, not a small tmpfs), else $TMPDIR or /tmp. */
const STAGE = `s=$(mktemp -d /var/tmp/roost-cp.XXXXXXXX 2>/dev/null || mktemp -d) || exit 1`;

/** Upload, first step: a staging directory for the bytes, and whether DEST names a directory to copy into. */
export function uploadPrepareArgv(dest: string): string[] {
  const script = `${STAGE}
echo "$s"
case $1 in */) echo dir ;; *) if [ -d "$1" ]; then echo dir; else echo file; fi ;; esac
`;
  return ['/bin/sh', '-c', script, 'sh', dest];
}

/** What the upload's last step does to the file: who gets it if it is new, and the mode and time to give it. */
export interface UploadFinish {
  /** The staging directory from uploadPrepareArgv; its file `f` holds the bytes. */
  stage: string;
  /** The absolute guest path the file gets. */
  target: string;
  /** Who gets a file the copy creates ('' keeps root's). */
  owner: string;
  /** Octal mode to give it ('' = an overwritten file's own mode, else the agent's default). */
  mode: string;
  /** Modification time, seconds since the epoch ('' = now). */
  mtime: string;
}

/**
 * Upload, last step: enter the destination's directory (walk), make a root-only 0700 directory there (same
 * filesystem: the rename is atomic), copy the staged bytes into it, set owner, mode and time on the file by a path
 * under that directory, and rename it over the destination by way of the pinned directory's descriptor
 * (/proc/self/fd/3): a link placed at the destination is replaced, never followed. An overwritten regular file's
 * owner and mode carry over (as cp(1) keeps them); anything else at the name is replaced as a new file.
 */
export function uploadFinishArgv(f: UploadFinish): string[] {
  const script = `${WALK}set -e
s=$1 d=$2 owner=$3 mode=$4 mtime=$5
trap 'rm -rf -- "$s"' EXIT
dir=\${d%/*} name=\${d##*/}
walk "\${dir:-/}"
exec 3<.
here=$(pwd -P)
old=$(stat -c '%F|%u:%g|%a' -- "./$name" 2>/dev/null) || old=
t=$(mktemp -d ./.roost-cp.XXXXXXXX)
cd -- "$t"
[ "$(pwd -P)" = "\${here%/}/\${t#./}" ] && [ "$(stat -c '%u %a' .)" = '0 700' ] || { echo "$t was replaced" >&2; exit 3; }
trap 'rm -f ./f; rmdir -- "$(pwd -P)" 2>/dev/null; rm -rf -- "$s"' EXIT
cat -- "$s/f" > ./f
case $old in
  'regular file|'*|'regular empty file|'*) o=\${old#*|}; chown -- "\${o%|*}" ./f; mode=\${mode:-\${o#*|}} ;;
  *) if [ -n "$owner" ]; then chown -- "$owner:" ./f; fi ;;
esac
if [ -n "$mode" ]; then chmod -- "$mode" ./f; fi
if [ -n "$mtime" ]; then touch -m -d "@$mtime" -- ./f; fi
mv -T -- ./f "/proc/self/fd/3/$name"
`;
  return ['/bin/sh', '-c', script, 'sh', f.stage, f.target, f.owner, f.mode, f.mtime];
}

/**
 * Download, first step: enter the source's directory (walk), refuse anything but a regular file there (a link
 * included: root reading through a link a guest user placed would hand out /etc/shadow), and copy it with
 * O_NOFOLLOW into a staging directory the agent then reads. Prints the staging directory, then `%a %Y %s`.
 */
export function downloadPrepareArgv(src: string): string[] {
  const script = `${WALK}set -e
p=$1 dir=\${1%/*} name=\${1##*/}
walk "\${dir:-/}"
meta=$(stat -c '%F|%a %Y %s' -- "./$name")
case $meta in
  'regular file|'*|'regular empty file|'*) ;;
  *) echo "$p is a \${meta%%|*}, not a regular file: through the guest agent roost copies only regular files" >&2; exit 3 ;;
esac
${STAGE}
dd if="./$name" of="$s/f" iflag=nofollow status=none || { rm -rf -- "$s"; exit 1; }
echo "$s"
echo "\${meta#*|}"
`;
  return ['/bin/sh', '-c', script, 'sh', src];
}

/** Removes a staging directory (a path mktemp gave, under a root-only directory). */
export function removeStageArgv(stage: string): string[] {
  return ['rm', '-rf', '--', stage];
}
